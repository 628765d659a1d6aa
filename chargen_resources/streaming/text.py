"""``collect_text``: runs of text deltas become one ``TextBlock``; everything else passes through.

The answer text and the model's thought summary are collected separately: when a non-text event
arrives (or the stream ends) the thought block (``thought=True``) is emitted first, then the
answer block. Consumers that do not want thoughts filter on ``block.thought``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from chargen_resources.streaming.types import TextBlock, TextDelta

Other = TypeVar("Other")


def collect_text(events: Iterable[TextDelta | Other]) -> Iterator[TextBlock | Other]:
    thoughts: list[str] = []
    answer: list[str] = []
    for event in events:
        if isinstance(event, TextDelta):
            (thoughts if event.thought else answer).append(event.text)
            continue
        yield from _flush(thoughts, answer)
        yield event
    yield from _flush(thoughts, answer)


def _flush(thoughts: list[str], answer: list[str]) -> Iterator[TextBlock]:
    if thoughts:
        yield TextBlock("".join(thoughts), thought=True)
        thoughts.clear()
    if answer:
        yield TextBlock("".join(answer))
        answer.clear()
