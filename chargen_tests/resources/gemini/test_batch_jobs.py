import pytest

from chargen_resources.gemini.batch_jobs import (
    BatchLine,
    ProgressReport,
    batch_counts,
    split_by_size,
)


def _line(key: str, size: int) -> BatchLine:
    return BatchLine(key=key, request={"pad": "x" * size})


def test_lines_are_grouped_under_the_input_limit_in_order() -> None:
    lines = [_line(str(i), 100) for i in range(10)]
    one = len(lines[0].to_jsonl())
    groups = split_by_size(lines, one * 4)
    assert [len(g) for g in groups] == [4, 4, 2]
    assert [line.key for group in groups for line in group] == [str(i) for i in range(10)]


def test_everything_fits_in_one_job_normally() -> None:
    assert len(split_by_size([_line(str(i), 10) for i in range(100)], 2 * 1024**3)) == 1


def test_a_line_over_the_limit_is_named() -> None:
    with pytest.raises(ValueError, match="'big'"):
        split_by_size([_line("big", 1000)], 100)


def test_batch_counts_read_int64_strings_and_tolerate_absence() -> None:
    raw = {
        "metadata": {
            "batchStats": {
                "requestCount": "5",
                "successfulRequestCount": "3",
                "failedRequestCount": "1",
            }
        }
    }
    assert batch_counts(raw) == (3, 1)
    assert batch_counts({}) == (None, None)


def test_progress_lines_say_state_done_total_and_elapsed() -> None:
    line = str(ProgressReport("character_image", "batches/x", "JOB_STATE_RUNNING", 5, 12.4, 3, 1))
    assert (
        line
        == "character_image batch batches/x: JOB_STATE_RUNNING, 3/5 done, 1 failed, 12s elapsed"
    )
