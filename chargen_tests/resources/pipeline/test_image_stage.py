from chargen_resources.pipeline.image_stage import as_single_line, final_image_key
from chargen_resources.streaming.types import ImageDelta, ImageStart, LineEnd, LineStart, StreamDone


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


def test_final_images_live_at_the_asset_key() -> None:
    assert final_image_key("chargen", "ash") == "chargen/character_image/ash.png"


def test_a_stream_that_ends_without_a_finish_reason_is_not_taken_for_success() -> None:
    events = list(as_single_line([ImageStart("image/png"), StreamDone(None)], "ash"))
    end = events[-1]
    assert isinstance(end, LineEnd) and end.finish_reason == "STREAM_ENDED_EARLY"
