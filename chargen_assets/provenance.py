"""Data-version tags for per-character materializations.

Dagster gives every partition of a multi-partition output the same data version. chargen logs
one materialization per character instead, so each carries its own: `source_image` the hash of
its normalised sketches, later stages a hash of their code version and their input's version.
Changing one sketch therefore makes only that character stale downstream.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping

import dagster as dg
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)
from dagster._core.definitions.data_version import NULL_EVENT_POINTER
from dagster._core.events import DagsterEventType

CODE_VERSION_TAG = "dagster/code_version"
DATA_VERSION_TAG = "dagster/data_version"
USER_PROVIDED_TAG = "dagster/data_version_is_user_provided"
RECORDS_PAGE = 500


def derived_version(code_version: str, input_version: str) -> str:
    return hashlib.sha256(f"{code_version}\n{input_version}".encode()).hexdigest()


def version_tags(
    code_version: str,
    data_version: str,
    upstream: Mapping[dg.AssetKey, str] | None = None,
    consumed: Mapping[dg.AssetKey, int | None] | None = None,
) -> dict[str, str]:
    """The tags Dagster reads a materialization's versions from; `upstream` maps each input
    asset to the data version this result was made from, `consumed` to the storage id of the
    input's materialization it was made from (None: the input was never materialized)."""
    tags = {
        CODE_VERSION_TAG: code_version,
        DATA_VERSION_TAG: data_version,
        USER_PROVIDED_TAG: "true",
    }
    for key, version in (upstream or {}).items():
        name = key.to_user_string()
        tags[f"dagster/input_data_version/{name}"] = version
        if consumed is not None:
            storage_id = consumed.get(key)
            tags[f"dagster/input_event_pointer/{name}"] = (
                str(storage_id) if storage_id is not None else NULL_EVENT_POINTER
            )
    return tags


def latest_data_version(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, partition: str | None
) -> str | None:
    """The data version of the newest materialization of one partition (or of an
    unpartitioned asset), if any."""
    record = instance.get_latest_data_version_record(asset_key, partition_key=partition)
    event = record.asset_event if record is not None else None
    if event is None or not event.tags:
        return None
    return event.tags.get(DATA_VERSION_TAG)


def latest_storage_ids(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, partitions: Collection[str] | None
) -> dict[str | None, int]:
    """The storage id of each partition's newest materialization (under None for an
    unpartitioned asset), in one query: the events a stage consumed, when it reads its inputs'
    latest (another run could record a newer one meanwhile; the data versions stay exact)."""
    if partitions is None:
        records = instance.fetch_materializations(asset_key, limit=1).records
        return {None: records[0].storage_id} if records else {}
    if not partitions:
        return {}
    latest = instance.event_log_storage.get_latest_storage_id_by_partition(
        asset_key, DagsterEventType.ASSET_MATERIALIZATION, partitions=set(partitions)
    )
    return {partition: storage_id for partition, storage_id in latest.items()}


def latest_materializations(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, partitions: Collection[str]
) -> dict[str, AssetCheckEvaluationTargetMaterializationData]:
    """Each partition's newest materialization, as the target a check evaluation names: Dagster
    shows a partition's check result only while it targets that partition's latest one.

    Read a page of records at a time: a record carries its whole event (metadata, tags), and
    only three fields of it are kept."""
    storage_ids = sorted(latest_storage_ids(instance, asset_key, partitions).values())
    targets: dict[str, AssetCheckEvaluationTargetMaterializationData] = {}
    for start in range(0, len(storage_ids), RECORDS_PAGE):
        page = storage_ids[start : start + RECORDS_PAGE]
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=asset_key, storage_ids=page), limit=len(page)
        ).records
        for record in records:
            if record.partition_key is not None:
                targets[record.partition_key] = AssetCheckEvaluationTargetMaterializationData(
                    storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp
                )
    return targets
