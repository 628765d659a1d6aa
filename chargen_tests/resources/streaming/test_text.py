"""collect_text: text runs into one block, thoughts apart, everything else passes in order."""

from __future__ import annotations

from chargen_resources.streaming import (
    LineEnd,
    LineStart,
    StreamDone,
    TextBlock,
    TextDelta,
    collect_text,
)


def test_runs_are_joined_and_flushed_before_other_events() -> None:
    events = [
        LineStart(0),
        TextDelta("Thinking ", thought=True),
        TextDelta("Here "),
        TextDelta("about it", thought=True),
        TextDelta("you go"),
        LineEnd(0, "k"),
        TextDelta("tail"),
    ]
    assert list(collect_text(events)) == [
        LineStart(0),
        TextBlock("Thinking about it", thought=True),
        TextBlock("Here you go"),
        LineEnd(0, "k"),
        TextBlock("tail"),
    ]


def test_no_text_no_block() -> None:
    assert list(collect_text([StreamDone()])) == [StreamDone()]
    assert list(collect_text([])) == []
