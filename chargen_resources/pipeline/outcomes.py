"""Per-character results of one stage: what succeeded, and why the rest did not."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class StageOutcome(Generic[T]):
    stage: str
    succeeded: dict[str, T] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    job_of: dict[str, str] = field(default_factory=dict)  # character -> the batch job it was in

    def fail(self, character: str, reason: str) -> None:
        self.succeeded.pop(character, None)
        self.failed[character] = reason
