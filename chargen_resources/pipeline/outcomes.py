"""Per-character results of one stage: what succeeded, and why the rest did not."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class StageOutcome(Generic[T]):
    stage: str
    # A plain dict, or results held packed (`packed.PackedModels`) by stages with many.
    succeeded: MutableMapping[str, T] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    # Results received but not kept (an image that failed QA): their checks still report why.
    rejected: dict[str, T] = field(default_factory=dict)
    job_of: dict[str, str] = field(default_factory=dict)  # character -> the batch job it was in
    # Characters whose result another run stored while this one was deciding: read it back.
    kept_elsewhere: set[str] = field(default_factory=set)
    # Characters whose request this run sent (and pays for), as opposed to kept or attached.
    paid_here: set[str] = field(default_factory=set)
    # Failures caused by the character's content (a refusal, an unusable answer, a bad file):
    # asking again with the same inputs fails again, so nothing re-sends them unasked.
    content_failures: set[str] = field(default_factory=set)
    # Run once the results are stored and recorded (the ledger's last steps, in order).
    settlements: list[Callable[[], None]] = field(default_factory=list)

    def reject(self, character: str, reason: str) -> None:
        """A result that arrived but is not kept: the character fails, its result is shown."""
        self.rejected[character] = self.succeeded[character]
        self.fail(character, reason)

    def fail(self, character: str, reason: str, *, content: bool = False) -> None:
        self.succeeded.pop(character, None)
        self.failed[character] = reason
        if content:
            self.content_failures.add(character)
        else:
            self.content_failures.discard(character)

    def settle(self) -> None:
        for settlement in self.settlements:
            settlement()
        self.settlements.clear()


def unnamed(reason: str, character: str) -> str:
    """A refusal without its leading "character 'x': " (or "character 'x', "), for a line
    that names the character already."""
    for lead in (f"character '{character}': ", f"character '{character}', "):
        if reason.startswith(lead):
            return reason.removeprefix(lead)
    return reason
