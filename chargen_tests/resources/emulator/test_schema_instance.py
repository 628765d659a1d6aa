"""Any JSON Schema or OpenAPI-subset schema gets a valid, fact-driven instance."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from chargen_resources.emulator.analysis_model import text_facts
from chargen_resources.emulator.facts import FactHints
from chargen_resources.emulator.schema_instance import generate_instance

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
