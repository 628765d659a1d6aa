import dagster as dg
import pytest

from chargen_assets import provenance
from chargen_assets.provenance import (
    derived_version,
    latest_data_version,
    latest_materializations,
    latest_storage_ids,
    version_tags,
)


def test_derived_versions_change_with_code_or_input() -> None:
    base = derived_version("v1", "abc")
    assert base == derived_version("v1", "abc")
    assert base != derived_version("v2", "abc") and base != derived_version("v1", "abd")


def test_tags_carry_code_data_and_input_versions() -> None:
    upstream = {dg.AssetKey("character_analysis"): "u1", dg.AssetKey("source_image"): "u2"}
    consumed = {dg.AssetKey("character_analysis"): 42, dg.AssetKey("source_image"): None}
    tags = version_tags("v1", "d1", upstream, consumed)
    assert tags["dagster/code_version"] == "v1" and tags["dagster/data_version"] == "d1"
    assert tags["dagster/input_data_version/character_analysis"] == "u1"
    assert tags["dagster/input_data_version/source_image"] == "u2"
    assert tags["dagster/input_event_pointer/character_analysis"] == "42"
    assert tags["dagster/input_event_pointer/source_image"] == "NULL"  # never materialized
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


def test_latest_storage_ids_name_each_partitions_newest_event_in_one_query() -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        assert latest_storage_ids(instance, dg.AssetKey("a"), ["p"]) == {}
        assert latest_storage_ids(instance, dg.AssetKey("style"), None) == {}
        for partition in ("p", "q", "p"):
            instance.report_runless_asset_event(
                dg.AssetMaterialization(asset_key="a", partition=partition)
            )
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key="style"))
        newest: dict[str | None, int] = {}
        for record in reversed(instance.fetch_materializations(dg.AssetKey("a"), limit=3).records):
            newest[record.partition_key] = record.storage_id
        (style,) = instance.fetch_materializations(dg.AssetKey("style"), limit=1).records
        assert latest_storage_ids(instance, dg.AssetKey("a"), ["p", "q", "never"]) == newest
        assert latest_storage_ids(instance, dg.AssetKey("style"), None) == {None: style.storage_id}
