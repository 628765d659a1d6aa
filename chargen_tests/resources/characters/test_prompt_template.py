from pathlib import Path

import pytest

from chargen_resources.characters.prompt_template import (
    DEFAULT_TEMPLATE_PATH,
    PLACEHOLDERS,
    REQUIRED,
    TEMPLATE_ENV,
    TemplateError,
    load_template,
    parse_template,
    placeholders_in,
)

GOOD = "A portrait of {name} in {style}. {cast_style_clause} {notes_clause} {feedback_clause}"


def test_the_project_template_is_a_file_in_prompts() -> None:
    template = load_template(DEFAULT_TEMPLATE_PATH)
    assert DEFAULT_TEMPLATE_PATH.parent.name == "prompts"
    assert template.source == str(DEFAULT_TEMPLATE_PATH)


def test_the_fingerprint_is_the_content_hash(tmp_path: Path) -> None:
    one, two = tmp_path / "one.txt", tmp_path / "two.txt"
    one.write_text(GOOD)
    two.write_text(GOOD)
    assert load_template(one).fingerprint == load_template(two).fingerprint
    two.write_text(GOOD + " Brighter.")
    assert load_template(one).fingerprint != load_template(two).fingerprint


def test_the_environment_names_another_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = tmp_path / "mine.txt"
    mine.write_text(GOOD)
    monkeypatch.setenv(TEMPLATE_ENV, str(mine))
    assert load_template().source == str(mine)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (GOOD + " {colour}", "unknown placeholder {colour}"),
        (
            "{name} {notes_clause} {feedback_clause} {cast_style_clause}",
            "missing placeholder {style}",
        ),
        (GOOD + " {", "write a literal brace twice"),
        (GOOD + " {0}", "{0} is not a placeholder"),
        (GOOD + " {name!r}", "{name!r} is not a placeholder"),
        (GOOD + " {mood:>9}", "{mood:>9} is not a placeholder"),
    ],
)
def test_a_bad_template_names_the_file_and_the_placeholder(text: str, named: str) -> None:
    with pytest.raises(TemplateError) as error:
        parse_template(text, "prompts/character_image.txt")
    assert str(error.value).startswith("prompts/character_image.txt: ")
    assert named in str(error.value)


def test_literal_braces_are_written_twice() -> None:
    assert placeholders_in(GOOD + " {{json}}", "t") == {
        "name",
        "style",
        "notes_clause",
        "feedback_clause",
        "cast_style_clause",
    }


def test_every_required_placeholder_is_documented() -> None:
    assert set(REQUIRED) <= PLACEHOLDERS.keys()


def test_an_unreadable_template_says_which_file(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match=r"nowhere\.txt cannot be read"):
        load_template(tmp_path / "nowhere.txt")
