from chargen_resources.characters.artifacts import DeadLetter, GeneratedImage, TokenUsage
from chargen_resources.characters.catalog import CharacterState, build_catalog


def _image(prompt_hash: str) -> GeneratedImage:
    return GeneratedImage(
        character="a",
        image_key="k.png",
        image_uri="file:///k.png",
        width=768,
        height=1376,
        bytes=10,
        finish_reason="STOP",
        model="m",
        mode="batch",
        batch_job="batches/1",
        prompt_hash=prompt_hash,
        usage=TokenUsage(prompt_tokens=10, output_tokens=1120),
        estimated_cost_usd=0.07,
    )


def test_rows_carry_status_reason_tokens_and_cost() -> None:
    table = build_catalog(
        [
            CharacterState(
                "b",
                dead_letter=DeadLetter(character="b", stage="character_image", reason="blocked"),
            ),
            CharacterState("a", image=_image("h")),
            CharacterState("c"),
        ]
    )
    assert table["character"].to_list() == ["a", "b", "c"]
    assert table["status"].to_list() == ["done", "failed", "pending"]
    assert table.row(0, named=True)["tokens"] == 1130
    assert table.row(1, named=True)["reason"] == "blocked"


def test_a_new_failure_outranks_an_older_image_and_a_changed_prompt_is_stale() -> None:
    from chargen_resources.characters.prompt_compiler import CompiledPrompt

    failed_again = CharacterState(
        "a",
        image=_image("h"),
        dead_letter=DeadLetter(character="a", stage="source_image", reason="corrupt sketch"),
    )
    prompt = CompiledPrompt(
        character="a",
        text="t",
        aspect_ratio="9:16",
        image_size="1K",
        style="s",
        style_overridden=False,
        template_version="v2",
        prompt_hash="new",
    )
    stale = CharacterState("b", image=_image("old"), prompt=prompt)
    table = build_catalog([failed_again, stale])
    assert table["status"].to_list() == ["failed", "stale"]
    assert table.row(0, named=True)["image_key"] == "k.png"  # the last good image is still shown
