import pytest

from chargen_resources.gemini.batch_jobs import BatchLine, split_by_size


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
