import dagster as dg
import pytest

from chargen_assets import provenance
from chargen_assets.provenance import (
    derived_version,
    latest_data_version,
    latest_materializations,
    version_tags,
)


def test_derived_versions_change_with_code_or_input() -> None:
    base = derived_version("v1", "abc")
    assert base == derived_version("v1", "abc")
    assert base != derived_version("v2", "abc") and base != derived_version("v1", "abd")


def test_tags_carry_code_data_and_input_versions() -> None:
    upstream = {dg.AssetKey("character_analysis"): "u1", dg.AssetKey("source_image"): "u2"}
    tags = version_tags("v1", "d1", upstream, 42)
    assert tags["dagster/code_version"] == "v1" and tags["dagster/data_version"] == "d1"
    assert tags["dagster/input_data_version/character_analysis"] == "u1"
    assert tags["dagster/input_data_version/source_image"] == "u2"
    assert tags["dagster/input_event_pointer/source_image"] == "42"
    assert "dagster/input_data_version/source_image" not in version_tags("v1", "d1")


def test_latest_data_version_reads_a_partition_s_own_materialization() -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        assert latest_data_version(instance, dg.AssetKey("a"), "p") is None
        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key="a", partition="p", tags=version_tags("v1", "d-p"))
        )
        assert latest_data_version(instance, dg.AssetKey("a"), "p") == "d-p"
        assert latest_data_version(instance, dg.AssetKey("a"), "q") is None


def test_latest_materializations_names_each_partitions_newest_across_pages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(provenance, "RECORDS_PAGE", 2)
    partitions = [f"p{index}" for index in range(5)]
    with dg.DagsterInstance.ephemeral() as instance:
        assert latest_materializations(instance, dg.AssetKey("a"), partitions) == {}
        for _round in range(2):
            for partition in partitions:
                instance.report_runless_asset_event(
                    dg.AssetMaterialization(asset_key="a", partition=partition)
                )
        newest = {
            record.partition_key: record.storage_id
            for record in instance.fetch_materializations(dg.AssetKey("a"), limit=5).records
        }
        targets = latest_materializations(instance, dg.AssetKey("a"), [*partitions, "never"])
    assert {key: target.storage_id for key, target in targets.items()} == newest
    assert len(newest) == 5
