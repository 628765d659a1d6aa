import pytest

from chargen_resources.characters.analysis import CharacterAnalysis
from chargen_resources.characters.artifacts import (
    AnalysisRecord,
    SourceImages,
    StoredImage,
    TokenUsage,
)
from chargen_resources.characters.prompt_template import load_template
from chargen_resources.inbox.character_spec import CharacterSpec
from chargen_resources.pipeline.prompt_stage import chosen_references, compile_prompts


def _record(key: str) -> AnalysisRecord:
    analysis = CharacterAnalysis(
        archetype="mage",
        visual_traits=["tall hat"],
        colour_palette=[{"name": "teal"}],  # type: ignore[list-item]
        mood="calm",
        art_style="ink",
        pose="casting",
        silhouette="narrow",
        props=[],
    )
    return AnalysisRecord(
        character=key,
        analysis=analysis,
        model="m",
        batch_job="b",
        usage=TokenUsage(),
        estimated_cost_usd=None,
    )


def test_the_character_sheet_overrides_run_defaults() -> None:
    sheet = CharacterSpec(display_name="Wren", aspect_ratio="1:1", image_size="2K")
    sources = {
        "wren": SourceImages(
            character="wren", source_name="wren", spec=sheet, images=[], content_hash="x"
        )
    }
    outcome = compile_prompts(
        {"wren": _record("wren"), "other": _record("other")},
        sources,
        template=load_template(),
        default_aspect_ratio="16:9",
    )
    assert (
        outcome.succeeded["wren"].aspect_ratio == "1:1"
        and outcome.succeeded["wren"].image_size == "2K"
    )
    assert "of Wren" in outcome.succeeded["wren"].text
    assert outcome.succeeded["other"].aspect_ratio == "16:9" and not outcome.failed


def test_a_locked_character_keeps_the_prompt_its_image_was_made_from() -> None:
    from chargen_resources.pipeline.prompt_stage import approved_prompts
    from chargen_tests.factories import compiled_prompt, generated_image

    stored = {
        "kept": compiled_prompt(character="kept", prompt_hash="made-with", text="old words"),
        "moved-on": compiled_prompt(character="moved-on", prompt_hash="other"),
    }
    images = {
        "kept": generated_image(character="kept", prompt_hash="made-with"),
        "moved-on": generated_image(character="moved-on", prompt_hash="not-that"),
    }
    approved = approved_prompts(stored, images)
    assert list(approved) == ["kept"]
    assert approved["kept"].text == "old words" and approved["kept"].locked


def _source_with(names: list[str], spec: CharacterSpec | None) -> SourceImages:
    images = [
        StoredImage(
            key=f"chargen/source_image/hero/{n:02d}-x.png",
            source_name=name,
            sha256=f"{n}",
            width=64,
            height=64,
            source_format="PNG",
        )
        for n, name in enumerate(names)
    ]
    return SourceImages(
        character="hero", source_name="hero", spec=spec, images=images, content_hash="x"
    )


def test_reference_images_picks_the_named_sketches_or_none_or_all() -> None:
    names = ["front.png", "side.png", "back.png"]
    everything = chosen_references(_source_with(names, None))
    assert [reference.name for reference in everything] == names  # all, in folder order
    picked = _source_with(names, CharacterSpec(reference_images=["back.png", "front.png"]))
    assert [reference.name for reference in chosen_references(picked)] == ["front.png", "back.png"]
    assert chosen_references(_source_with(names, CharacterSpec(reference_images="none"))) == ()


def test_a_reference_image_not_in_the_folder_is_named_with_what_is_there() -> None:
    source = _source_with(["front.png"], CharacterSpec(reference_images=["frnt.png"]))
    with pytest.raises(
        ValueError, match=r"^character 'hero': .* names frnt\.png, not among this folder's images"
    ):
        chosen_references(source)
    outcome = compile_prompts({"hero": _record("hero")}, {"hero": source}, template=load_template())
    assert "frnt.png" in outcome.failed["hero"] and "front.png" in outcome.failed["hero"]


def test_a_character_without_a_display_name_is_named_by_its_folder_not_its_key() -> None:
    sources = {
        key: SourceImages(character=key, source_name=source, images=[], content_hash="x")
        for key, source in (
            ("elodie-the-pale-b4ea4810", "Élodie the Pale"),
            ("wandering-hermit-b0368239", "wandering-hermit.JPG"),  # a loose image
            ("dr-who-1a2b3c4d", "Dr. Who"),  # a dot that is not an extension stays
        )
    }
    outcome = compile_prompts(
        {key: _record(key) for key in sources}, sources, template=load_template()
    )
    texts = {key: prompt.text for key, prompt in outcome.succeeded.items()}
    assert "of Élodie the Pale" in texts["elodie-the-pale-b4ea4810"]
    assert "of wandering-hermit," in texts["wandering-hermit-b0368239"]
    assert "of Dr. Who" in texts["dr-who-1a2b3c4d"]
    assert not any("b4ea4810" in text or "b0368239" in text for text in texts.values())
