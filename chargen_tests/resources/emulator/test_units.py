"""Pure functions: settings from env, key normalisation, markers, safety, schema instances."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from chargen_resources.emulator.analysis_model import text_facts
from chargen_resources.emulator.colours import colours_in_text, nearest_name
from chargen_resources.emulator.facts import FactHints
from chargen_resources.emulator.faults import batch_faults, request_faults
from chargen_resources.emulator.safety import is_blocked
from chargen_resources.emulator.schema_instance import generate_instance
from chargen_resources.emulator.settings import EmulatorSettings
from chargen_resources.emulator.wire import ApiError, decode_base64, normalise_keys, paginate


def test_settings_from_env() -> None:
    settings = EmulatorSettings.from_env(
        {
            "CHARGEN_EMULATOR_PENDING_SECONDS": "0",
            "CHARGEN_EMULATOR_IMAGE_DELIVERY": "cumulative",
            "CHARGEN_EMULATOR_FAIL_STATUS": "429",
            "CHARGEN_EMULATOR_DRAFT_IMAGES": "2",
            "CHARGEN_EMULATOR_REQUIRE_API_KEY": "false",
        }
    )
    assert settings.pending_seconds == 0 and settings.image_delivery == "cumulative"
    assert settings.fail_status == 429 and settings.draft_images == 2
    assert settings.require_api_key is False
    assert EmulatorSettings.from_env({}).running_seconds == 3.0


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


def test_marker_grammar() -> None:
    faults = request_faults(
        [
            "a [emulator:HTTP-503] b [emulator:slow=2.5]",
            "[emulator:drafts=9]",
            "[emulator:stream-cut][emulator:safety][emulator:line-error]",
        ]
    )
    assert faults.http_status == 503 and faults.slow_seconds == 2.5 and faults.drafts == 2
    assert faults.stream_cut and faults.safety and faults.line_error
    assert request_faults(["plain"]).http_status is None
    assert batch_faults("x [emulator:batch-late-output=3]").late_output_seconds == 3
    assert batch_faults("[emulator:batch-stuck]").outcome == "stuck"


def test_safety_words_are_whole_words() -> None:
    assert is_blocked(["Very GORY"]) and is_blocked(["nsfw art"]) and is_blocked(["dismembered"])
    assert not is_blocked(["Gregory the gorgeous"])


def test_colour_names() -> None:
    assert nearest_name((250, 5, 5)) == "red"
    assert colours_in_text("a Forest Green cloak, #FF0000 trim and grey boots") == [
        (34, 139, 34),
        (255, 0, 0),
        (128, 128, 128),
    ]


SCHEMAS: list[dict[str, Any]] = [
    {
        "type": "object",
        "properties": {
            "hex": {"type": "string", "pattern": "^#[0-9a-f]{6}$"},
            "n": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
            "tags": {
                "type": "array",
                "items": {"type": "string"},
                "minItems": 5,
                "uniqueItems": True,
            },
            "opt": {"type": ["string", "null"], "maxLength": 3},
        },
        "required": ["hex", "n", "tags"],
    },
    {
        "$defs": {
            "c": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "share": {"type": "number", "minimum": 0, "maximum": 1},
                },
            }
        },
        "type": "object",
        "properties": {"colors": {"type": "array", "items": {"$ref": "#/$defs/c"}, "maxItems": 2}},
    },
    {
        "type": "array",
        "items": {"oneOf": [{"type": "integer", "minimum": 10, "maximum": 12}, {"type": "string"}]},
    },
    {
        "allOf": [
            {"type": "object", "properties": {"a": {"const": 7}}},
            {"properties": {"b": {"type": "boolean"}}, "required": ["b"]},
        ]
    },
    {"type": "string", "enum": ["knight", "mage", "rogue"]},
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_generated_instances_validate(schema: dict[str, Any]) -> None:
    instance = generate_instance(schema, FactHints(text_facts("a dark mage in teal")))
    jsonschema.validate(instance, schema)


def test_openapi_dialect_and_hints() -> None:
    schema = {
        "type": "OBJECT",
        "propertyOrdering": ["mood", "archetype"],
        "properties": {
            "archetype": {"type": "STRING", "enum": ["knight", "mage"]},
            "mood": {"type": "STRING", "nullable": True},
            "palette": {"type": "ARRAY", "items": {"type": "STRING"}, "maxItems": 1},
        },
    }
    value = generate_instance(schema, FactHints(text_facts("a brooding mage in crimson")))
    assert list(value)[:2] == ["mood", "archetype"]
    assert value["archetype"] == "mage" and "dark" in value["mood"]
    assert value["palette"] == ["crimson"]
