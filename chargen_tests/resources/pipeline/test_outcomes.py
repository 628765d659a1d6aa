from chargen_resources.pipeline.outcomes import StageOutcome


def test_a_failure_replaces_a_success_and_the_summary_names_each_character() -> None:
    outcome: StageOutcome[int] = StageOutcome("character_image", succeeded={"a": 1, "b": 2})
    outcome.fail("b", "blocked")
    assert outcome.succeeded == {"a": 1} and outcome.failed == {"b": "blocked"}
    summary = outcome.failure_summary()
    assert "1 of 2 characters failed in character_image" in summary and "- b: blocked" in summary
