from chargen_resources.pipeline.streamed import as_single_line, streamed_line
from chargen_resources.streaming.types import (
    ImageDelta,
    ImageStart,
    LineEnd,
    LineStart,
    StreamDone,
)


def test_a_stream_is_framed_as_one_line_keyed_by_character() -> None:
    events = list(
        as_single_line([ImageStart("image/png"), ImageDelta("QQ=="), StreamDone("STOP")], "ash")
    )
    assert events[0] == LineStart(0)
    assert (
        isinstance(events[-1], LineEnd)
        and events[-1].key == "ash"
        and events[-1].finish_reason == "STOP"
    )


def test_a_stream_that_ends_without_done_is_not_taken_for_success() -> None:
    events = list(as_single_line([ImageStart("image/png")], "ash"))
    end = events[-1]
    assert isinstance(end, LineEnd) and end.finish_reason == "STREAM_ENDED_EARLY"


def test_a_stream_that_ends_without_a_finish_reason_is_not_taken_for_success() -> None:
    events = list(as_single_line([ImageStart("image/png"), StreamDone(None)], "ash"))
    end = events[-1]
    assert isinstance(end, LineEnd) and end.finish_reason == "STREAM_ENDED_EARLY"


def test_a_streamed_text_answer_becomes_one_line_with_its_text_and_usage() -> None:
    body = [
        b'data: {"candidates": [{"content": {"parts": [{"text": "{\\"a\\": "}]}}]}\r\n\r\n',
        b'data: {"candidates": [{"content": {"parts": [{"text": "1}"}]}, "finishReason": "STOP"}],'
        b' "usageMetadata": {"promptTokenCount": 7, "candidatesTokenCount": 3}}\r\n\r\n',
    ]
    (line,) = list(streamed_line(iter(body), "ash"))
    assert line.key == "ash" and line.text == '{"a": 1}' and line.problem is None
    assert line.usage.prompt_tokens == 7 and line.usage.output_tokens == 3


def test_a_cut_text_stream_is_a_problem_not_an_answer() -> None:
    body = [b'data: {"candidates": [{"content": {"parts": [{"text": "{\\"a\\""}]}}]}\n\n']
    (line,) = list(streamed_line(iter(body), "ash"))
    assert line.problem is not None and "STREAM_ENDED_EARLY" in line.problem
