import tracemalloc
from datetime import UTC, datetime

from chargen_resources.characters.artifacts import GeneratedImage
from chargen_resources.characters.image_qa import QaResult
from chargen_resources.characters.prompt_compiler import CompiledPrompt
from chargen_resources.pipeline.outcomes import StageOutcome
from chargen_resources.pipeline.packed import PackedModels, only
from chargen_tests.factories import compiled_prompt, generated_image


def _image(character: str) -> GeneratedImage:
    return generated_image(
        character=character,
        image_key=f"chargen/character_image/{character}.png",
        references=["front.png", "side.png"],
        take=2,
        glance="![x](data:image/webp;base64," + "A" * 600 + ")",
        qa=[
            QaResult(check="png_decodes", passed=True, detail="PNG 768x1376"),
            QaResult(check="size_as_asked", passed=True, detail="768x1376, asked 9:16 at 1K"),
            QaResult(check="not_blank", passed=True, detail="grey-level spread 9.6"),
            QaResult(check="final_not_thought", passed=True, detail="final image"),
        ],
        made_at=datetime(2026, 11, 30, 12, 0, tzinfo=UTC),
    )


def test_a_packed_result_reads_back_equal_and_fresh() -> None:
    packed: PackedModels[GeneratedImage] = PackedModels()
    packed["ash"] = _image("ash")
    prompts: PackedModels[CompiledPrompt] = PackedModels()
    prompts["ash"] = compiled_prompt(template_version="v")  # any model, its own type back
    assert packed["ash"] == _image("ash") and packed["ash"].made_at == _image("ash").made_at
    assert prompts["ash"] == compiled_prompt(template_version="v")
    first = packed["ash"]
    first.take = 9  # a read is a copy: what is held does not change
    assert packed["ash"].take == 2


def test_it_behaves_as_a_mapping() -> None:
    packed: PackedModels[GeneratedImage] = PackedModels()
    packed.update({key: _image(key) for key in ("b", "a", "c")})
    assert list(packed) == ["b", "a", "c"] and len(packed) == 3 and "a" in packed
    del packed["b"]
    assert packed.pop("c").character == "c" and packed.pop("c", None) is None
    assert packed == {"a": _image("a")}
    assert "z" not in packed and packed.get("z") is None


def test_a_subset_stays_packed_and_shares_the_bytes() -> None:
    packed: PackedModels[GeneratedImage] = PackedModels()
    packed.update({key: _image(key) for key in ("a", "b", "c")})
    subset = only(packed, ["c", "a", "missing"])
    assert isinstance(subset, PackedModels) and list(subset) == ["c", "a"]
    assert subset["a"] == _image("a")
    many: PackedModels[GeneratedImage] = PackedModels()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        many.update({f"hero-{index:05d}": _image(f"hero-{index:05d}") for index in range(200)})
        packing = tracemalloc.get_traced_memory()[0] - before
        before = tracemalloc.get_traced_memory()[0]
        shared = only(many, list(many))
        subsetting = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(shared) == 200 and subsetting < packing / 10  # the bytes are shared, not copied
    del subset["a"]
    assert "a" in packed  # the subset is its own mapping
    plain = {"a": 1, "b": 2}
    assert only(plain, ["b", "z"]) == {"b": 2}


def test_a_stage_outcome_fails_and_rejects_packed_results() -> None:
    outcome: StageOutcome[GeneratedImage] = StageOutcome("character_image", PackedModels())
    outcome.succeeded.update({key: _image(key) for key in ("a", "b", "c")})
    outcome.fail("a", "refused", content=True)
    outcome.reject("b", "failed QA")
    assert set(outcome.succeeded) == {"c"} and outcome.rejected == {"b": _image("b")}
    assert set(outcome.failed) == {"a", "b"}


def test_packed_results_take_a_fraction_of_the_models_memory() -> None:
    keys = [f"hero-{index:05d}" for index in range(500)]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        packed: PackedModels[GeneratedImage] = PackedModels()
        for key in keys:
            packed[key] = _image(key)  # each model is let go once packed
        as_packed = tracemalloc.get_traced_memory()[0] - before
        before = tracemalloc.get_traced_memory()[0]
        models = {key: _image(key) for key in keys}
        as_models = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(models) == len(packed)
    assert as_packed < as_models / 3, (as_packed / len(keys), as_models / len(keys))
    assert as_packed / len(keys) < 1_000  # bytes and bookkeeping, under 1 KB a character
