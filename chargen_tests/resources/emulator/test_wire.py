"""Wire helpers: key normalisation, lenient base64, pagination."""

from __future__ import annotations

import pytest

from chargen_resources.emulator.wire import ApiError, decode_base64, normalise_keys, paginate


def test_normalise_keys_keeps_user_names() -> None:
    body = {
        "generation_config": {
            "response_schema": {
                "type": "OBJECT",
                "property_ordering": ["a_b"],
                "properties": {"a_b": {"min_items": 1}},
            }
        },
        "metadata": {"my_key": 1},
    }
    assert normalise_keys(body) == {
        "generationConfig": {
            "responseSchema": {
                "type": "OBJECT",
                "propertyOrdering": ["a_b"],
                "properties": {"a_b": {"minItems": 1}},
            }
        },
        "metadata": {"my_key": 1},
    }


def test_base64_both_alphabets() -> None:
    assert decode_base64("-_8=") == decode_base64("+/8") == b"\xfb\xff"
    with pytest.raises(ApiError):
        decode_base64("***")


def test_paginate() -> None:
    page, token = paginate(list(range(5)), "2", None)
    assert page == [0, 1] and token
    page, token = paginate(list(range(5)), "2", token)
    assert page == [2, 3]
    with pytest.raises(ApiError):
        paginate([1], "x", None)
    with pytest.raises(ApiError):
        paginate([1], "1", "garbage!")
