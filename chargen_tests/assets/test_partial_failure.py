"""A run where some characters fail reads as partial, through Dagster's own APIs and GraphQL:
the failed partitions (only they) are marked Failed, each with its reason on the `ready` check;
the others are materialized with their checks passed; the run's tags say "made 4 of 5"."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from chargen_assets.pipeline import character_pipeline
from chargen_tests.fixtures.dagster_ui import ui_graphql
from chargen_tests.fixtures.platform import COLOURS, Platform

PARTITIONS_AND_CHECKS = """
query Partitions($path: [String!]!) {
  assetNodeOrError(assetKey: {path: $path}) {
    ... on AssetNode {
      assetPartitionStatuses {
        ... on DefaultPartitionStatuses { materializedPartitions failedPartitions }
      }
      assetChecksOrError {
        ... on AssetChecks {
          checks {
            name
            partitionStatuses {
              ... on AssetCheckDefaultPartitionStatuses {
                succeededPartitions failedPartitions executionFailedPartitions
              }
            }
          }
        }
      }
    }
  }
}
"""


def test_one_blocked_character_of_five_reads_as_one_failure_not_five(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = sorted(COLOURS)
    (platform.inbox / "cinder" / "character.yaml").write_text("notes: '[emulator:safety]'\n")
    monkeypatch.setenv("CHARGEN_INBOX", str(platform.inbox))
    monkeypatch.setenv("CHARGEN_STORAGE", str(platform.storage_root))
    (tmp_path / "home").mkdir()
    with dg.DagsterInstance.local_temp(str(tmp_path / "home")) as instance:
        result = platform.run(keys, instance=instance)
        assert not result.success  # so that Dagster marks the failed partition, and only it
        run = instance.get_run_by_id(result.run_id)
        assert run is not None
        assert run.tags["chargen/made"] == "4 of 5" and run.tags["chargen/failed"] == "cinder"
        failure = result.failure_data_for_node("character_pipeline")
        assert failure is not None and failure.user_failure_data is not None
        description = failure.user_failure_data.description or ""
        assert description.startswith("4 of 5 characters were materialized; 1 failed (cinder)")

        node = ui_graphql(instance, PARTITIONS_AND_CHECKS, {"path": ["character_image"]})
        asset = node["assetNodeOrError"]
        statuses = asset["assetPartitionStatuses"]
        assert statuses["failedPartitions"] == ["cinder"]
        assert sorted(statuses["materializedPartitions"]) == [k for k in keys if k != "cinder"]
        checks = {c["name"]: c["partitionStatuses"] for c in asset["assetChecksOrError"]["checks"]}
        assert checks["ready"]["failedPartitions"] == ["cinder"]
        assert sorted(checks["ready"]["succeededPartitions"]) == [k for k in keys if k != "cinder"]
        # A verdict for every character: none reads as "failed to execute" (red in the UI).
        assert checks["ready"]["executionFailedPartitions"] == []
        assert set(checks) == {"ready"}

    ready = {e.partition: e for e in result.get_asset_check_evaluations()}
    assert ready.keys() == set(keys)
    reason = ready["cinder"].metadata["detail"].value
    assert not ready["cinder"].passed
    assert ready["cinder"].metadata["stage"].value == "character_image"
    assert isinstance(reason, str) and "safety filter" in reason and "re-run" in reason
    assert "materialize this character again" in str(ready["cinder"].metadata["what_to_do"].value)


def test_a_character_that_fails_after_an_earlier_image_fails_ready_on_that_image(
    platform: Platform,
) -> None:
    """Its earlier image stays materialized; the run's verdict on it says this run failed it,
    and why, aimed at that earlier image (the one a user sees on the partition)."""
    keys = sorted(COLOURS)
    assert platform.run(keys).success
    earlier = platform.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("character_image"), asset_partitions=["ash"]),
        limit=1,
    ).records[0]
    (platform.inbox / "ash" / "character.yaml").write_text("notes: '[emulator:safety]'\n")

    again = platform.run(keys)
    assert not again.success
    verdicts = [e for e in again.get_asset_check_evaluations() if e.partition == "ash"]
    assert len(verdicts) == 1 and not verdicts[0].passed
    assert verdicts[0].check_name == "ready"
    assert "safety filter" in str(verdicts[0].metadata["detail"].value)
    target = verdicts[0].target_materialization_data
    assert target is not None and target.storage_id == earlier.storage_id
    others = [e for e in again.get_asset_check_evaluations() if e.partition != "ash"]
    assert sorted(e.partition or "" for e in others) == [k for k in keys if k != "ash"]
    assert all(e.passed for e in others)


def test_the_ready_check_run_alone_names_a_character_never_drawn(platform: Platform) -> None:
    """The Checks tab's "Execute" runs the check without its asset: each character drawn gets
    its image's QA again, and one never drawn fails with what to do, nothing is paid."""
    keys = sorted(COLOURS)
    assert platform.run(keys[:-1]).success
    platform.add(keys)
    paid = len(platform.jobs())
    result = dg.materialize(
        [character_pipeline],
        selection=dg.AssetSelection.checks(
            dg.AssetCheckKey(dg.AssetKey("character_image"), "ready")
        ),
        instance=platform.instance,
        resources=platform.resources,
        tags={
            "dagster/asset_partition_range_start": keys[0],
            "dagster/asset_partition_range_end": keys[-1],
        },
    )
    verdicts = {e.partition: e for e in result.get_asset_check_evaluations()}
    assert set(verdicts) == set(keys)
    assert all(verdicts[k].passed for k in keys[:-1])
    never = verdicts[keys[-1]]
    assert not never.passed
    assert (
        never.description
        == "no image of this character is stored yet: materialize its character_image"
    )
    assert result.get_asset_materialization_events() == []
    assert len(platform.jobs()) == paid
