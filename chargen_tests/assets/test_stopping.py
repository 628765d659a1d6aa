"""A stage or asset that cannot go on fails in words: what, for whom, why and what to do."""

import dagster as dg
import pytest
from botocore.exceptions import NoCredentialsError

from chargen_assets.stopping import stopping, stops_plainly


def test_an_unexpected_error_becomes_a_failure_naming_the_stage_characters_and_cause() -> None:
    with (
        pytest.raises(dg.Failure) as failed,
        stopping("character_image", ["ash", "ember"], {"moss": ("character_analysis", "refused")}),
    ):
        raise NoCredentialsError()
    description = failed.value.description or ""
    assert description.startswith("character_image stopped for 2 characters (ash, ember): ")
    assert "no AWS credentials were found" in description and "AWS_ACCESS_KEY_ID" in description
    assert "Earlier failures:\n- moss: character_analysis: refused" in description
    assert failed.value.allow_retries is False


def test_dagsters_own_failures_pass_through_as_they_are() -> None:
    worded = dg.Failure(description="already said plainly")
    with pytest.raises(dg.Failure) as failed, stopping("cast_style"):
        raise worded
    assert failed.value is worded


def test_an_asset_that_stops_plainly_fails_its_run_in_words_not_a_traceback() -> None:
    @dg.asset
    @stops_plainly("cast_style")
    def needs_s3(context: dg.AssetExecutionContext) -> None:
        raise NoCredentialsError()

    result = dg.materialize([needs_s3], raise_on_error=False)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failure.step_failure_data is not None
    told = failure.step_failure_data.user_failure_data
    assert told is not None and (told.description or "").startswith(
        "cast_style stopped: no AWS credentials were found"
    )
