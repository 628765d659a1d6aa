"""The forgiving JSON dialect: what the docs' curl bodies need, and what stays refused."""

from __future__ import annotations

import pytest

from chargen_resources.emulator.lenient_json import LenientJsonError, loads_lenient


@pytest.mark.parametrize(
    "text, expected",
    [
        ("{'file': {'display_name': 'BatchInput'}}", {"file": {"display_name": "BatchInput"}}),
        ("{'requests': {'file_name': files/abc123}}", {"requests": {"file_name": "files/abc123"}}),
        ('{"a": [1, -2.5, 3e2, true, false, null]}', {"a": [1, -2.5, 300.0, True, False, None]}),
        ("{'quote': 'it\\'s \\u00e9'}", {"quote": "it's \u00e9"}),
        ("{}", {}),
        ("[]", []),
    ],
)
def test_accepts_the_docs_dialect(text: str, expected: object) -> None:
    assert loads_lenient(text) == expected


@pytest.mark.parametrize(
    "text", ['{"contents": [', "not json at all", '{"a": 1,}', "{'open: 1}", "{1: 2}", ""]
)
def test_still_refuses_broken_bodies(text: str) -> None:
    with pytest.raises(LenientJsonError):
        loads_lenient(text)
