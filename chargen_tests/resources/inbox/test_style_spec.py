import pytest

from chargen_resources.inbox.style_spec import StyleSpec, StyleSpecError, parse_style_spec


def test_every_field_is_read_and_ratios_stay_text() -> None:
    spec = parse_style_spec(
        b"art_direction: painterly\npalette: teal\naspect_ratio: 2:3\nimage_size: 2k\n"
    )
    assert spec == StyleSpec(
        art_direction="painterly", palette=["teal"], aspect_ratio="2:3", image_size="2K"
    )
    assert parse_style_spec(b"") == StyleSpec()


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (b"colour: red\n", "field 'colour' is not a known field"),
        (b"palette: {teal: 1}\n", "field 'palette'"),
        (b"aspect_ratio: 7:3\n", "field 'aspect_ratio'"),
        (b"- a\n", "must be a mapping"),
        (b"art_direction: [unclosed\n", "is not valid YAML at line 2, column 1"),
    ],
)
def test_errors_name_the_file_and_the_field(text: bytes, named: str) -> None:
    with pytest.raises(StyleSpecError) as error:
        parse_style_spec(text)
    assert str(error.value).startswith("_style/style.yaml: ") and named in str(error.value)


def test_a_style_guide_with_an_alias_is_refused() -> None:
    with pytest.raises(StyleSpecError) as refused:
        parse_style_spec(b'palette: &p ["#aa0000"]\nnotes: *p\n')
    assert "an alias (*name) is not accepted" in str(refused.value)
    assert "write plain values" in str(refused.value)


def test_a_ratio_not_offered_lists_the_choices_once() -> None:
    with pytest.raises(StyleSpecError) as refused:
        parse_style_spec(b"aspect_ratio: 7:3\n")
    told = str(refused.value)
    assert "field 'aspect_ratio' '7:3' is not supported" in told and told.count("21:9") == 1


def test_every_wrong_field_is_named_at_once() -> None:
    with pytest.raises(StyleSpecError) as refused:
        parse_style_spec(b"colour: red\nimage_size: 8K\npalette: {teal: 1}\n")
    told = str(refused.value)
    assert "field 'colour' is not a known field" in told
    assert "Also to fix: field 'image_size' '8K' is not supported (use one of 1K, 2K, 4K)" in told
    assert "field 'palette'" in told


def test_a_misspelt_field_is_asked_about() -> None:
    with pytest.raises(StyleSpecError) as refused:
        parse_style_spec(b"art_directon: ink\n")
    assert "field 'art_directon' is not a known field (did you mean 'art_direction'?); use " in (
        str(refused.value)
    )
