"""A stage or asset that cannot go on fails with what failed, for whom, the cause in words and
what to do (chargen_resources.pipeline.errors.explain), never with a bare traceback. Dagster's
own failures, and chargen's already worded ones, pass through as they are."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

import dagster as dg

from chargen_resources.pipeline.errors import explain
from chargen_resources.words import counted, shortened

# On every refusal before anything is paid (a setting, the store or the inbox's `_style/` said
# no): nothing was sent. The demo exits 2 on it, as on any refusal to start.
NOTHING_SENT = "nothing_sent"

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def stopping(
    what: str,
    characters: Sequence[str] = (),
    earlier: Mapping[str, tuple[str, str]] | None = None,
    record: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Turn an unexpected error in `what` into a Failure naming it, the `characters` it
    stopped for and the `earlier` failures (character: (stage, reason)) of the run; `record`
    is handed the cause in words first (to keep it beside each character's results)."""
    try:
        yield
    except (dg.Failure, dg.DagsterError):
        raise
    except Exception as error:
        told = explain(error).rstrip(".") + "."
        if record is not None:
            record(f"{what} stopped: {told}")
        whom = (
            f" for {counted(len(characters), 'character')} ({shortened(characters)})"
            if characters
            else ""
        )
        listed = "".join(
            f"\n- {k}: {stage}: {reason}" for k, (stage, reason) in sorted((earlier or {}).items())
        )
        raise dg.Failure(
            description=(
                f"{what} stopped{whom}: {told}" + (f"\nEarlier failures:{listed}" if listed else "")
            ),
            metadata={
                "stage": what,
                **(
                    {"characters": dg.MetadataValue.text(", ".join(characters))}
                    if characters
                    else {}
                ),
            },
            allow_retries=False,
        ) from error


def stops_plainly(what: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """The asset function, with `stopping(what)` around its body."""

    def decorate(body: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(body)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
            with stopping(what):
                return body(*args, **kwargs)

        return wrapped

    return decorate
