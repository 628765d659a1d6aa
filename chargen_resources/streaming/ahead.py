"""``worked_ahead``: a step that does each item's work a few items ahead, in threads, in order.

For work that leaves the GIL (Pillow decoding, resizing and encoding; zlib): on two cores it
runs beside the consumer instead of between its items. For work that waits on a round trip (an
upload, a store's read or write): several wait at once instead of one after another. The
upstream iterator is still pulled in the consumer's thread, one item at a time, so a generator
upstream needs no locking, and at most ``depth`` results wait ahead: memory stays a handful of
items.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def worked_ahead(
    work: Callable[[Item], Result],
    items: Iterable[Item],
    *,
    threads: int = 2,
    depth: int | None = None,
    name: str = "ahead",
) -> Generator[Result, None, None]:
    """`work(item)` for every item, yielded in the items' order, at most `depth` (twice the
    threads unless given) waiting ahead. An error raised by `work` is raised here when its
    item's turn comes; one raised by the upstream, after the items read before it (as a plain
    chain of generators would). Closing the generator early cancels the work not yet started
    and waits for the rest."""
    depth = 2 * threads if depth is None else depth
    if threads < 1 or depth < 1:
        raise ValueError(f"worked_ahead needs at least one thread and depth 1 ({threads}, {depth})")
    upstream = iter(items)
    failure: Exception | None = None
    pending: deque[Future[Result]] = deque()
    with ThreadPoolExecutor(threads, thread_name_prefix=name) as pool:
        try:
            while True:
                try:
                    item = next(upstream)
                except StopIteration:
                    break
                except Exception as error:  # raised once the items before it are through
                    failure = error
                    break
                pending.append(pool.submit(work, item))
                if len(pending) > depth:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
    if failure is not None:
        raise failure


def each_ahead(
    work: Callable[[Item], object], items: Iterable[Item], *, threads: int, name: str
) -> None:
    """`work(item)` for every item for its effect, several at once (round trips to a store or
    an API); the first error is raised once the items before it are done."""
    for _ in worked_ahead(work, items, threads=threads, name=name):
        pass
