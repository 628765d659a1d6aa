from chargen_resources.characters.analysis import CharacterAnalysis
from chargen_resources.characters.artifacts import AnalysisRecord, SourceImages, TokenUsage
from chargen_resources.characters.prompt_template import load_template
from chargen_resources.inbox.character_spec import CharacterSpec
from chargen_resources.pipeline.prompt_stage import compile_prompts


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
