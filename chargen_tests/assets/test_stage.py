"""What a stage holds while it pays: its inputs stay packed, whatever the size of the cast."""

import gc
from typing import Any

import pytest

from chargen_assets import stage
from chargen_resources.characters.artifacts import AnalysisRecord, GeneratedImage, SourceImages
from chargen_resources.characters.prompt_compiler import CompiledPrompt
from chargen_tests.fixtures.platform import COLOURS, Platform


def test_a_paid_stage_carries_its_inputs_packed(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    alive: dict[str, int] = {}
    real_carry = stage.carry

    def counting(paid: Any, inputs: Any, **options: Any) -> Any:
        gc.collect()
        kinds = (SourceImages, CompiledPrompt)
        for kind in kinds:
            alive[f"{paid.name}/{kind.__name__}"] = sum(
                isinstance(o, kind) for o in gc.get_objects()
            )
        return real_carry(paid, inputs, **options)

    monkeypatch.setattr(stage, "carry", counting)
    assert platform.run(list(COLOURS)).success
    # Unpacked for all five characters at once, these would be 5 each (as they were when a
    # stage handed `carry` a dict of its inputs).
    assert alive["character_analysis/SourceImages"] <= 1, alive
    assert alive["character_image/CompiledPrompt"] <= 1, alive


def test_results_kept_from_storage_are_held_packed(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert platform.run(list(COLOURS)).success
    alive: dict[str, int] = {}
    real_carry = stage.carry

    def counting(paid: Any, inputs: Any, **options: Any) -> Any:
        gc.collect()
        for kind in (AnalysisRecord, GeneratedImage):
            alive[f"{paid.name}/{kind.__name__}"] = sum(
                isinstance(o, kind) for o in gc.get_objects()
            )
        return real_carry(paid, inputs, **options)

    monkeypatch.setattr(stage, "carry", counting)
    assert platform.run(list(COLOURS)).success  # nothing changed: every result is kept
    # Read back from storage for all five characters, they wait packed (5 each as models).
    assert alive["character_analysis/AnalysisRecord"] <= 1, alive
    assert alive["character_image/GeneratedImage"] <= 1, alive


def test_a_runs_safety_settings_replace_the_defaults_in_its_image_requests() -> None:
    from chargen_resources.characters.requests import image_request
    from chargen_tests.factories import compiled_prompt

    config = stage.PipelineConfig.model_validate(
        {"safety_settings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]}
    )
    request = image_request(compiled_prompt(text="draw"), config.safety())
    assert request["safetySettings"] == [
        {"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}
    ]
