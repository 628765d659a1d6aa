from chargen_resources.pipeline.batch_results import line_results
from chargen_resources.streaming.types import (
    ImageBlock,
    ImageMarkedThought,
    LineEnd,
    LineError,
    LineStart,
    TextDelta,
    TokenUsage,
)


def _block(key: str) -> ImageBlock:
    return ImageBlock(
        url=key,
        key=key,
        bucket=None,
        width=1,
        height=1,
        format="PNG",
        content_type="image/png",
        content_length=1,
    )


def test_events_group_into_one_result_per_line_with_the_key_from_the_end() -> None:
    events = [
        LineStart(0),
        TextDelta('{"a":'),
        TextDelta("thinking", thought=True),
        TextDelta("1}"),
        LineEnd(
            0,
            "alpha",
            finish_reason="STOP",
            usage=TokenUsage(prompt_token_count=3, candidates_token_count=5),
        ),
        LineStart(1),
        LineEnd(1, "beta", error=LineError(code=13, message="boom", status="INTERNAL")),
    ]
    first, second = line_results(events)
    assert first.key == "alpha" and first.text == '{"a":1}' and first.problem is None
    assert first.usage.prompt_tokens == 3 and first.usage.output_tokens == 5
    assert (
        second.key == "beta"
        and second.problem is not None
        and "INTERNAL: boom" in second.problem
        and "sends it again" in second.problem
    )


def test_an_image_marked_thought_after_its_data_is_dropped() -> None:
    events = [LineStart(0), _block("draft"), ImageMarkedThought(), _block("final"), LineEnd(0, "k")]
    (result,) = line_results(events)
    assert [image.key for image in result.images] == ["final"]


def test_safety_and_block_reasons_become_advice() -> None:
    (blocked,) = line_results([LineStart(0), LineEnd(0, "k", finish_reason="IMAGE_SAFETY")])
    assert (
        blocked.problem is not None
        and "safety filter" in blocked.problem
        and "IMAGE_SAFETY" in blocked.problem
    )
    (prompt_blocked,) = line_results([LineStart(0), LineEnd(0, "k", block_reason="SAFETY")])
    assert prompt_blocked.problem is not None and "blockReason SAFETY" in prompt_blocked.problem
