from chargen_resources.pipeline.outcomes import StageOutcome, unnamed


def test_a_failure_replaces_a_success() -> None:
    outcome: StageOutcome[int] = StageOutcome("character_image", succeeded={"a": 1, "b": 2})
    outcome.fail("b", "blocked")
    assert outcome.succeeded == {"a": 1} and outcome.failed == {"b": "blocked"}


def test_a_refusal_loses_only_its_own_leading_name() -> None:
    assert unnamed("character 'ash': too small", "ash") == "too small"
    assert (
        unnamed("character 'ash', image 'a.png': unreadable", "ash") == "image 'a.png': unreadable"
    )
    assert unnamed("character 'ashen': too small", "ash") == "character 'ashen': too small"
    assert unnamed("safety filter", "ash") == "safety filter"
