import pytest
from pydantic import ValidationError

from chargen_resources.characters.analysis import CharacterAnalysis, PaletteColour, gemini_schema


def test_schema_is_gemini_openapi_subset_with_ordering_and_required() -> None:
    schema = gemini_schema(CharacterAnalysis)
    assert schema["type"] == "OBJECT"
    assert schema["propertyOrdering"][0] == "archetype"
    assert "props" not in schema["required"] and "archetype" in schema["required"]
    palette = schema["properties"]["colour_palette"]
    assert palette["type"] == "ARRAY" and palette["maxItems"] == 6
    colour = palette["items"]
    assert colour["type"] == "OBJECT" and colour["properties"]["hex"]["nullable"] is True
    assert "$ref" not in str(schema) and "anyOf" not in str(schema)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("#ABCDEF", "#abcdef"), ("abc", "#aabbcc"), ("not a colour", None), (None, None)],
)
def test_hex_codes_are_normalised_or_dropped(raw: str | None, expected: str | None) -> None:
    assert PaletteColour(name="x", hex=raw).hex == expected


def test_an_answer_missing_required_fields_is_rejected() -> None:
    with pytest.raises(ValidationError):
        CharacterAnalysis.model_validate_json('{"archetype": "knight"}')


def test_blank_strings_are_rejected() -> None:
    with pytest.raises(ValidationError):
        CharacterAnalysis.model_validate(
            {
                "archetype": "  ",
                "visual_traits": ["a"],
                "colour_palette": [{"name": "red"}],
                "mood": "m",
                "art_style": "s",
                "pose": "p",
                "silhouette": "s",
            }
        )
