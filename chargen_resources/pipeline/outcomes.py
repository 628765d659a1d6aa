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
    batch_job: str | None = None

    def fail(self, character: str, reason: str) -> None:
        self.succeeded.pop(character, None)
        self.failed[character] = reason

    def failure_summary(self) -> str:
        lines = [f"- {character}: {reason}" for character, reason in sorted(self.failed.items())]
        return (
            f"{len(self.failed)} of {len(self.failed) + len(self.succeeded)} characters failed "
            f"in {self.stage}; the others were materialized. Fix the cause and re-run: only the "
            "failed characters are sent again.\n" + "\n".join(lines)
        )
