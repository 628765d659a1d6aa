"""chargen's event log storages: each planned `ready` row holds its own character, on the
instance `make dev` runs (the project's dagster.yaml, SQLite) and the benchmark's in-memory one."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationPlanned,
)
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from chargen_assets import character_image
from chargen_assets.definitions import build_defs
from chargen_assets.event_log_storage import (
    ROWS_PER_INSERT,
    ChargenInMemoryEventLogStorage,
    ChargenSqliteEventLogStorage,
    in_memory_instance,
)
from chargen_assets.partitions import CHARACTERS
from chargen_assets.pipeline import character_pipeline
from chargen_tests.fixtures.platform import COLOURS, Platform

REPO = Path(__file__).resolve().parents[2]
READY = dg.AssetCheckKey(character_image.spec.key, character_image.READY_CHECK)


@contextmanager
def _project_instance(home: Path) -> Iterator[dg.DagsterInstance]:
    """The instance `make dev` makes: the project's dagster.yaml in DAGSTER_HOME."""
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    with dg.DagsterInstance.get() as instance:
        yield instance


def _planned_run(instance: dg.DagsterInstance, keys: list[str]) -> str:
    """Create (not execute) a run of the pipeline over `keys`, as a launch does."""
    instance.add_dynamic_partitions(CHARACTERS, keys)
    job = dg.Definitions(
        assets=[character_pipeline],
        jobs=[dg.define_asset_job("pipeline", selection=[character_pipeline])],
        resources=build_defs().resources,
    ).resolve_job_def("pipeline")
    run = instance.create_run_for_job(
        job_def=job,
        tags={
            "dagster/asset_partition_range_start": keys[0],
            "dagster/asset_partition_range_end": keys[-1],
        },
    )
    return run.run_id


def _rows(instance: dg.DagsterInstance, run_id: str) -> dict[str, list[str]]:
    """The run's `ready` rows by character: the characters each row's event names."""
    records = instance.event_log_storage.get_asset_check_execution_history(READY, limit=10_000)
    rows: dict[str, list[str]] = {}
    for record in records:
        if record.run_id != run_id:
            continue
        assert record.status is AssetCheckExecutionRecordStatus.PLANNED
        assert record.partition not in rows  # one row per character
        assert record.event is not None
        rows[str(record.partition)] = _characters_named(record.event)
    return rows


def _characters_named(entry: EventLogEntry) -> list[str]:
    """The characters a planned check event says are planned."""
    assert entry.dagster_event is not None
    planned = entry.dagster_event.event_specific_data
    assert isinstance(planned, AssetCheckEvaluationPlanned)
    assert planned.partitions_subset is not None
    return sorted(planned.partitions_subset.get_partition_keys())


@pytest.fixture(params=["make dev", "in memory"])
def instance(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dg.DagsterInstance]:
    if request.param == "in memory":
        with in_memory_instance() as instance:
            assert isinstance(instance.event_log_storage, ChargenInMemoryEventLogStorage)
            yield instance
        return
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    with _project_instance(tmp_path / "home") as instance:
        assert isinstance(instance.event_log_storage, ChargenSqliteEventLogStorage)
        yield instance


def test_each_planned_row_holds_only_its_own_character(instance: dg.DagsterInstance) -> None:
    # More characters than one INSERT takes: the rows are written in several.
    keys = [f"hero-{n:04d}" for n in range(ROWS_PER_INSERT + 3)]
    run_id = _planned_run(instance, keys)
    rows = _rows(instance, run_id)
    assert rows == {key: [key] for key in keys}  # Dagster's would list all of them in each
    # The run's own planned event still says what the whole run planned.
    (planned,) = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED
    ).records
    assert _characters_named(planned.event_log_entry) == keys


def test_a_one_character_run_is_planned_as_dagster_plans_it(instance: dg.DagsterInstance) -> None:
    run_id = _planned_run(instance, ["solo"])
    assert _rows(instance, run_id) == {"solo": ["solo"]}


def test_the_verdicts_of_a_run_replace_its_planned_rows(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the instance `make dev` runs, a run's verdicts land on the rows planned for them:
    one per character, none left "planned" (a row left planned reads as still running)."""
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    with _project_instance(tmp_path / "home") as instance:
        result = platform.run(sorted(COLOURS), instance=instance)
        assert result.success
        records = instance.event_log_storage.get_asset_check_execution_history(READY, limit=100)
        assert sorted(str(r.partition) for r in records) == sorted(COLOURS)
        assert {r.status for r in records} == {AssetCheckExecutionRecordStatus.SUCCEEDED}
        assert (tmp_path / "home" / "history" / "runs" / "index.db").is_file()  # Dagster's place


def test_the_project_instance_refuses_to_start_without_dagster_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with pytest.raises(dg.DagsterError, match="DAGSTER_HOME"):
        dg.DagsterInstance.from_config(str(home))
