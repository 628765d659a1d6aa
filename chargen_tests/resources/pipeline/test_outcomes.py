from chargen_resources.pipeline.outcomes import StageOutcome


def test_a_failure_replaces_a_success() -> None:
    outcome: StageOutcome[int] = StageOutcome("character_image", succeeded={"a": 1, "b": 2})
    outcome.fail("b", "blocked")
    assert outcome.succeeded == {"a": 1} and outcome.failed == {"b": "blocked"}
