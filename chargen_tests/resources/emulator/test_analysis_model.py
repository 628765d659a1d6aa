"""The analysis model reads real pixels."""

from PIL import Image, ImageDraw

from chargen_resources.emulator.analysis_model import image_facts, orientation_of


def test_a_red_image_gets_a_red_palette() -> None:
    facts = image_facts(Image.new("RGB", (64, 64), (210, 20, 25)))
    assert facts.palette[0].name in {"red", "crimson", "scarlet"} or "red" in facts.palette[0].name


def test_a_dark_image_is_darker_in_mood_than_a_bright_one() -> None:
    dark = image_facts(Image.new("RGB", (64, 64), (12, 12, 20)))
    bright = image_facts(Image.new("RGB", (64, 64), (250, 240, 200)))
    assert dark.brightness < 0.2 < 0.8 < bright.brightness
    assert dark.mood != bright.mood


def test_line_density_and_orientation_show() -> None:
    flat = Image.new("RGB", (100, 200), (200, 200, 200))
    hatched = flat.copy()
    pen = ImageDraw.Draw(hatched)
    for x in range(0, 100, 4):
        pen.line((x, 0, x, 200), fill=(0, 0, 0))
    assert image_facts(hatched).edge_density > image_facts(flat).edge_density
    assert orientation_of(100, 200) == "portrait" and orientation_of(200, 100) == "landscape"


def test_the_bundled_samples_read_as_distinct_characters_without_placeholders() -> None:
    import json
    import re

    from chargen_tests.resources.emulator.bundled_samples import sample_readings

    readings = {key: reading for key, (_, reading) in sample_readings().items()}
    assert len(readings) == 10
    for key, reading in readings.items():
        values = json.dumps(reading.model_dump()).lower()
        assert not re.search(r"\b(props|silhouette|pose|archetype) \d", values), (key, values)
        assert reading.silhouette != "silhouette" and reading.props, key
    assert len({reading.archetype for reading in readings.values()}) >= 8
    assert len({tuple(reading.props) for reading in readings.values()}) >= 5
