import threading
from collections.abc import Iterator

import pytest

from chargen_resources.streaming.ahead import each_ahead, worked_ahead


def _same(item: int) -> int:
    return item


def test_results_come_in_the_items_order_whatever_finishes_first() -> None:
    first_may_finish = threading.Event()

    def work(item: int) -> int:
        if item == 0:  # the first item finishes last
            assert first_may_finish.wait(timeout=10)
        elif item == 3:
            first_may_finish.set()
        return item * 10

    assert list(worked_ahead(work, range(8), threads=2, depth=4)) == [i * 10 for i in range(8)]


def test_work_runs_in_other_threads_while_the_upstream_is_pulled_here() -> None:
    pulled_in: set[str] = set()
    worked_in: set[str] = set()

    def upstream() -> Iterator[int]:
        for item in range(6):
            pulled_in.add(threading.current_thread().name)
            yield item

    def work(item: int) -> int:
        worked_in.add(threading.current_thread().name)
        return item

    assert list(worked_ahead(work, upstream(), name="keeper")) == list(range(6))
    assert pulled_in == {threading.current_thread().name}
    assert worked_in and all(name.startswith("keeper") for name in worked_in)


class _Counted:
    """An upstream of 0, 1, 2, ... that counts the items taken from it."""

    def __init__(self) -> None:
        self.pulled = 0

    def __iter__(self) -> Iterator[int]:
        for item in range(1000):
            self.pulled += 1
            yield item


def test_no_more_than_depth_items_are_taken_ahead_of_the_consumer() -> None:
    upstream = _Counted()
    steps = worked_ahead(_same, upstream, depth=3)
    assert next(steps) == 0
    assert upstream.pulled == 4  # the one consumed and three ahead
    steps.close()


def test_an_error_in_the_work_is_raised_at_its_turn_and_later_work_is_not_started() -> None:
    started: list[int] = []

    def work(item: int) -> int:
        started.append(item)
        if item == 1:
            raise ValueError("item 1 is bad")
        return item

    steps = worked_ahead(work, range(50), threads=2, depth=4)
    assert next(steps) == 0
    with pytest.raises(ValueError, match="item 1 is bad"):
        next(steps)
    assert max(started) <= 6  # nothing past the few taken ahead was started


def test_an_upstream_error_comes_after_the_items_read_before_it() -> None:
    def upstream() -> Iterator[int]:
        yield from range(3)
        raise ConnectionError("the download broke")

    done: list[int] = []
    with pytest.raises(ConnectionError, match="the download broke"):
        for result in worked_ahead(_same, upstream(), depth=4):
            done.append(result)
    assert done == [0, 1, 2]


def test_closing_early_stops_taking_items() -> None:
    upstream = _Counted()
    steps = worked_ahead(_same, upstream, depth=2)
    assert [next(steps) for _ in range(3)] == [0, 1, 2]
    steps.close()
    assert upstream.pulled <= 6


def test_needs_a_thread_and_a_depth() -> None:
    with pytest.raises(ValueError, match="at least one thread"):
        list(worked_ahead(lambda item: item, [1], threads=0))


def test_each_ahead_does_every_item_and_raises_the_first_error_after_those_before_it() -> None:
    done: list[int] = []
    lock = threading.Lock()

    def work(item: int) -> None:
        if item in (5, 7):
            raise ValueError(f"item {item}")
        with lock:
            done.append(item)

    with pytest.raises(ValueError, match="item 5"):
        each_ahead(work, range(10), threads=3, name="effects")
    assert set(range(5)) <= set(done)  # every item before the failing one was done

    done.clear()
    each_ahead(work, [0, 1, 2, 3], threads=3, name="effects")
    assert sorted(done) == [0, 1, 2, 3]
