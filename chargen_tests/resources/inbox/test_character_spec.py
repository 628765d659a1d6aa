from __future__ import annotations

from pathlib import Path

import pytest

from chargen_resources.inbox.character_spec import (
    CharacterSpec,
    CharacterSpecError,
    parse_character_spec,
)

README = Path(__file__).resolve().parents[3] / "README.md"


def test_the_readmes_example_is_read_field_by_field() -> None:
    readme = README.read_text()
    example = readme.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert example.startswith("# character.yaml")
    spec = parse_character_spec(example.encode(), "red-knight")
    assert spec == CharacterSpec(
        display_name="Ser Maren of the Red Vale",
        notes="a weathered knight who carries her late brother's banner",
        style_override="watercolour storybook illustration",
        aspect_ratio="9:16",
        image_size="2K",
        reference_images="all",
        feedback="the banner should be torn",
        locked=False,
    )


@pytest.mark.parametrize("data", [b"", b"\n", b"# only a comment\n", b"---\n"])
def test_empty_file_means_no_extra_information(data: bytes) -> None:
    assert parse_character_spec(data, "x") == CharacterSpec()


def test_unquoted_aspect_ratio_is_text_not_base_60() -> None:
    # PyYAML would read 16:9 as the integer 969.
    spec = parse_character_spec(b"aspect_ratio: 16:9\n", "x")
    assert spec.aspect_ratio == "16:9"


def test_lowercase_image_size_is_accepted() -> None:
    assert parse_character_spec(b"image_size: 4k", "x").image_size == "4K"


def test_numbers_in_text_fields_are_text() -> None:
    assert parse_character_spec(b"display_name: 1984", "x").display_name == "1984"


def test_utf8_bom_and_unicode_are_fine() -> None:
    spec = parse_character_spec("\ufeffdisplay_name: Élodie ☾\n".encode(), "x")
    assert spec.display_name == "Élodie ☾"


def _error(data: bytes, character: str = "ash-witch") -> CharacterSpecError:
    with pytest.raises(CharacterSpecError) as caught:
        parse_character_spec(data, character)
    return caught.value


def test_invalid_yaml_names_the_character_and_the_line() -> None:
    error = _error(b"display_name: Ash\nnotes: [unclosed\n")
    message = str(error)
    assert "ash-witch" in message
    assert "not valid YAML" in message
    assert "line 3" in message or "line 2" in message
    assert "indentation" in message  # the fix


@pytest.mark.parametrize("data", [b"- a\n- b\n", b"just a sentence\n", b"42\n"])
def test_not_a_mapping(data: bytes) -> None:
    message = str(_error(data))
    assert "must be a mapping" in message
    assert "display_name:" in message  # shows an example


def test_unknown_field_lists_the_allowed_ones() -> None:
    error = _error(b"name: Ash\n")
    assert error.field == "name"
    message = str(error)
    assert "'name'" in message and "not a known field" in message
    assert "display_name, notes, style_override, aspect_ratio, image_size" in message


def test_bad_aspect_ratio_lists_the_choices() -> None:
    error = _error(b'aspect_ratio: "7:3"\n')
    assert error.field == "aspect_ratio"
    message = str(error)
    assert "'7:3' is not supported" in message
    assert '"9:16"' in message and '"21:9"' in message


def test_bad_image_size_lists_the_choices() -> None:
    error = _error(b"image_size: 8K\n")
    assert error.field == "image_size"
    assert "1K, 2K, 4K" in str(error)


def test_wrong_type_says_to_quote() -> None:
    error = _error(b"notes: yes\n")
    assert error.field == "notes"
    assert "quotes" in str(error)


def test_empty_display_name() -> None:
    error = _error(b'display_name: ""\n')
    assert error.field == "display_name"


def test_not_utf8() -> None:
    assert "UTF-8" in str(_error(b"display_name: \xff\xfe\n"))


def test_yaml_tags_are_not_executed() -> None:
    error = _error(b"display_name: !!python/object/apply:os.system ['true']\n")
    assert "not valid YAML" in str(error)


def test_an_alias_is_refused_before_it_can_expand() -> None:
    """Nine levels of nine-fold aliases are 400 bytes of YAML and gigabytes of value."""
    levels = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for name, previous in zip("bcdefghi", "abcdefgh", strict=True):
        levels.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    bomb = ("\n".join(levels) + "\nnotes: *i\n").encode()
    with pytest.raises(CharacterSpecError) as refused:
        parse_character_spec(bomb, "bomb")
    told = str(refused.value)
    assert "an alias (*name) is not accepted" in told and "line 2" in told and len(told) < 300


def test_a_field_written_twice_is_refused_not_silently_the_last() -> None:
    with pytest.raises(CharacterSpecError) as refused:
        parse_character_spec(b"feedback: warmer\nnotes: tall\nfeedback: colder\n", "ash")
    assert "'feedback' is written twice: keep one" in str(refused.value)
    assert "each field once" in str(refused.value)


def test_a_long_value_is_quoted_short_in_its_error() -> None:
    with pytest.raises(CharacterSpecError) as refused:
        parse_character_spec(b"notes: " + b"x" * 2_000_000 + b"\n", "ash")
    told = str(refused.value)
    assert "field 'notes'" in told and "(2,000,002 characters)" in told and len(told) < 400


def test_a_python_tag_is_told_to_write_plain_values() -> None:
    with pytest.raises(CharacterSpecError) as refused:
        parse_character_spec(b"notes: !!python/object:os.system {}\n", "ash")
    assert "plain values" in str(refused.value) and "indentation" not in str(refused.value)


def test_every_wrong_field_is_named_so_a_file_is_fixed_in_one_go() -> None:
    with pytest.raises(CharacterSpecError) as refused:
        parse_character_spec(b"colour: red\nfeedbak: x\nimage_size: 3K\n", "hero")
    told = str(refused.value)
    assert refused.value.field == "image_size" and "Use one of 1K, 2K, 4K" in told
    assert "Also to fix: field 'colour' is not a known field" in told
    assert "field 'feedbak' is not a known field" in told
    assert told.lower().count("remove it or use one of") == 1  # each fix said once
    # A later wrong value says what to use too, not only the first.
    with pytest.raises(CharacterSpecError) as refused:
        parse_character_spec(b"aspect_ratio: '7:3'\nimage_size: 3K\n", "hero")
    told = str(refused.value)
    assert "field 'image_size' '3K' is not supported (use one of 1K, 2K, 4K)." in told


def test_a_misspelt_field_is_asked_about_and_a_broken_file_named_plainly() -> None:
    with pytest.raises(CharacterSpecError) as refused:
        parse_character_spec(b"aspect_ration: '2:3'\nfeedbak: x\n", "hero")
    told = str(refused.value)
    assert told.startswith(
        "character 'hero': character.yaml field 'aspect_ration': is not a known field (did you "
        "mean 'aspect_ratio'?). Remove it or use one of: "
    )
    assert "field 'feedbak' is not a known field (did you mean 'feedback'?)." in told
    with pytest.raises(CharacterSpecError) as refused:
        parse_character_spec(b"notes: [\n", "hero")
    assert str(refused.value).startswith("character 'hero': character.yaml: is not valid YAML")
