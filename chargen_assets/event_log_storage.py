"""Dagster's SQLite and in-memory event log storages, with each planned check row holding only its
own character.

When a run is created, Dagster 1.13 stores a planned row per character for each partitioned
check the run will evaluate, and puts in every row the run's whole planned event, which lists
every character of the run, serialised again for each row: the run's creation grows as the square
of its size. For 4,000 characters that is 227 MB of rows, 10 to 13 s of serialising and 867 MB
peak in the creating process; 1.4 GB of rows at 10,000 (README, "Creating a huge run"). Here each
row holds that event narrowed to its own character, which is what the row stands for: Dagster
reads a planned row's event back only to say "planned", and nothing reads its list. The run's
planned event in the event log itself, which says what the whole run planned, is stored as
Dagster stores it.

`make dev`'s dagster.yaml names the SQLite one; the benchmark's in-memory instance uses the
other. The production profile keeps Dagster's Postgres storage, as its Helm chart renders it
(the chart has no setting for the class): there the sensors' runs take at most 1,000 characters
(`CHARGEN_MAX_CHARACTERS_PER_RUN`), 15 MB of such rows a run."""

import os
from collections.abc import Mapping
from typing import Any, cast

import dagster as dg
from dagster._config import StringSource, UserConfigSchema
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationPlanned,
)
from dagster._core.definitions.partitions.subset import DefaultPartitionsSubset
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log import InMemoryEventLogStorage, SqliteEventLogStorage
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable
from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage
from dagster._record import copy
from dagster._serdes import ConfigurableClassData, serialize_value

# Rows per INSERT: well under SQLite's bound on a statement's variables.
ROWS_PER_INSERT = 500


def narrowed(event: EventLogEntry, character: str) -> EventLogEntry:
    """A run's planned check event as it stands for one character's row."""
    dagster_event, planned = _planned(event)
    own = copy(planned, partitions_subset=DefaultPartitionsSubset({character}))
    return event._replace(dagster_event=dagster_event._replace(event_specific_data=own))


def _planned(event: EventLogEntry) -> tuple[dg.DagsterEvent, AssetCheckEvaluationPlanned]:
    dagster_event = cast(dg.DagsterEvent, event.dagster_event)
    return dagster_event, cast(AssetCheckEvaluationPlanned, dagster_event.event_specific_data)


class _OwnCharacterPlannedRows(SqlEventLogStorage):
    """Stores a run's planned check rows each with its own character's event when the run
    plans the check for several characters; any other planned check as Dagster does."""

    def _store_asset_check_evaluation_planned(
        self, event: EventLogEntry, event_id: int | None
    ) -> None:
        _, planned = _planned(event)
        subset = planned.partitions_subset
        if not isinstance(subset, DefaultPartitionsSubset) or len(subset) <= 1:
            super()._store_asset_check_evaluation_planned(event, event_id)
            return
        # The columns Dagster's own planned rows have; only the character and its event differ.
        shared = {
            "asset_key": planned.asset_key.to_string(),
            "check_name": planned.check_name,
            "run_id": event.run_id,
            "execution_status": AssetCheckExecutionRecordStatus.PLANNED.value,
            "evaluation_event_timestamp": self._event_insert_timestamp(event),
            "evaluation_event_storage_id": event_id,
        }
        characters = sorted(subset.get_partition_keys())
        with self.index_connection() as connection:
            for start in range(0, len(characters), ROWS_PER_INSERT):
                rows = [
                    {
                        **shared,
                        "partition": character,
                        "evaluation_event": serialize_value(narrowed(event, character)),
                    }
                    for character in characters[start : start + ROWS_PER_INSERT]
                ]
                connection.execute(AssetCheckExecutionsTable.insert().values(rows))


class ChargenSqliteEventLogStorage(_OwnCharacterPlannedRows, SqliteEventLogStorage):
    """Dagster's SQLite event log (a database per run, and an index) where Dagster keeps it
    when dagster.yaml names no storage: `<dagster_home>/history/runs`. dagster.yaml gives
    `dagster_home: {env: DAGSTER_HOME}`, which every Dagster process has set."""

    @classmethod
    def config_type(cls) -> UserConfigSchema:
        return {"dagster_home": StringSource}

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> "ChargenSqliteEventLogStorage":
        base_dir = os.path.join(config_value["dagster_home"], "history", "runs")
        return cls(base_dir=base_dir, inst_data=inst_data)


class ChargenInMemoryEventLogStorage(_OwnCharacterPlannedRows, InMemoryEventLogStorage):
    """Dagster's in-memory event log, for an instance that lives as long as its process."""


def in_memory_instance() -> dg.DagsterInstance:
    """Dagster's ephemeral instance (runs and events in this process's memory), with the
    in-memory event log above: the benchmark's `--in-memory-instance`."""
    from dagster._core.instance import InstanceType
    from dagster._core.launcher.sync_in_memory_run_launcher import SyncInMemoryRunLauncher
    from dagster._core.run_coordinator import DefaultRunCoordinator
    from dagster._core.storage.noop_compute_log_manager import NoOpComputeLogManager
    from dagster._core.storage.root import TemporaryLocalArtifactStorage
    from dagster._core.storage.runs import InMemoryRunStorage

    return dg.DagsterInstance(
        instance_type=InstanceType.EPHEMERAL,
        local_artifact_storage=TemporaryLocalArtifactStorage(),
        run_storage=InMemoryRunStorage(),
        event_storage=ChargenInMemoryEventLogStorage(),
        compute_log_manager=NoOpComputeLogManager(),
        run_coordinator=DefaultRunCoordinator(),
        run_launcher=SyncInMemoryRunLauncher(),
    )
