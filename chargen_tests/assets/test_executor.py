"""The streaming in-process executor: Dagster's, minus the copy of a hook-less step's events.

Jobs run on a real (temporary) instance as a run worker runs them (`execute_run_iterator`, each
event stored and dropped; `execute_job` would keep them all for its result). A step counts the
step events still alive in the process while it runs.
"""

import gc
from collections.abc import Iterator
from typing import Any

import dagster as dg
import psycopg2
import pytest
from dagster._core.definitions.job_base import InMemoryJob
from dagster._core.events import DagsterEvent
from dagster._core.execution.api import execute_run_iterator

from chargen_assets.executor import streaming_in_process_executor

EVENTS = 300
SEEN_BY_HOOK: list[int] = []
ALIVE: list[int] = []  # per run of `many_events`: its materializations alive as it ends


def _materializations_alive(step_key: str) -> int:
    gc.collect()
    return sum(
        1
        for thing in gc.get_objects()
        if isinstance(thing, DagsterEvent)
        and thing.step_key == step_key
        and thing.is_step_materialization
    )


@dg.op
def many_events(context: dg.OpExecutionContext) -> Iterator[dg.AssetMaterialization | dg.Output]:
    for index in range(EVENTS):
        yield dg.AssetMaterialization(asset_key="thing", partition=str(index))
    ALIVE.append(_materializations_alive(context.op_handle.name))
    yield dg.Output(None)


@dg.op(ins={"after": dg.In(dg.Nothing)})
def report() -> None:
    pass


@dg.success_hook
def count_events(context: dg.HookContext) -> None:
    # A success hook fires only when the events handed to it hold the step's success: its
    # firing shows the executor handed them over.
    SEEN_BY_HOOK.append(1)


@dg.op
def fails() -> None:
    raise dg.Failure(description="the cause, said plainly")


@dg.job(executor_def=streaming_in_process_executor)
def streaming_job() -> None:
    report(many_events())


@dg.job(executor_def=dg.in_process_executor)
def dagster_job() -> None:
    report(many_events())


@dg.job(executor_def=streaming_in_process_executor, hooks={count_events})
def hooked_job() -> None:
    report(many_events())


@dg.job(executor_def=streaming_in_process_executor)
def failing_job() -> None:
    report(many_events())
    fails()


def _run_like_a_worker(job: dg.JobDefinition, instance: dg.DagsterInstance) -> dg.DagsterRun:
    run = instance.create_run_for_job(job_def=job)
    for _event in execute_run_iterator(InMemoryJob(job), run, instance):
        pass
    finished = instance.get_run_by_id(run.run_id)
    assert finished is not None
    return finished


def _alive_during_step(job: dg.JobDefinition, instance: dg.DagsterInstance) -> int:
    ALIVE.clear()
    assert _run_like_a_worker(job, instance).is_success
    return ALIVE[0]


@pytest.fixture
def instance(tmp_path: pytest.TempPathFactory) -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        yield instance


def test_dagster_keeps_every_event_of_a_step_in_memory(instance: dg.DagsterInstance) -> None:
    """The control: what the streaming executor removes is really there in Dagster's."""
    assert _alive_during_step(dagster_job, instance) >= EVENTS


def test_the_streaming_executor_keeps_none_of_a_hookless_steps_events(
    instance: dg.DagsterInstance,
) -> None:
    assert _alive_during_step(streaming_job, instance) <= 1
    materializations = instance.fetch_materializations(dg.AssetKey("thing"), limit=EVENTS + 1)
    assert len(materializations.records) == EVENTS  # every event still reached the event log


def test_a_step_with_hooks_still_hands_them_its_events(instance: dg.DagsterInstance) -> None:
    SEEN_BY_HOOK.clear()
    run = _run_like_a_worker(hooked_job, instance)
    assert run.is_success
    assert SEEN_BY_HOOK == [1, 1]  # one per step, after each step's events
    hook_events = [
        record.event_log_entry
        for record in instance.get_records_for_run(run.run_id, limit=10_000).records
        if record.event_log_entry.dagster_event is not None
        and record.event_log_entry.dagster_event.is_hook_event
    ]
    assert len(hook_events) == 2


def test_a_failing_step_fails_the_run_and_the_others_finish(instance: dg.DagsterInstance) -> None:
    ALIVE.clear()
    run = _run_like_a_worker(failing_job, instance)
    assert not run.is_success
    events = [
        record.event_log_entry.dagster_event
        for record in instance.get_records_for_run(run.run_id, limit=10_000).records
        if record.event_log_entry.dagster_event is not None
    ]
    failures = [event for event in events if event.is_step_failure]
    assert [event.step_key for event in failures] == ["fails"]
    assert "the cause, said plainly" in str(failures[0].step_failure_data.user_failure_data)
    succeeded = {event.step_key for event in events if event.is_step_success}
    assert succeeded == {"many_events", "report"}


def test_it_takes_the_in_process_executors_retry_config(instance: dg.DagsterInstance) -> None:
    run = instance.create_run_for_job(
        job_def=streaming_job,
        run_config={"execution": {"config": {"retries": {"disabled": {}}}}},
    )
    for _event in execute_run_iterator(InMemoryJob(streaming_job), run, instance):
        pass
    finished = instance.get_run_by_id(run.run_id)
    assert finished is not None and finished.is_success


@pytest.fixture
def postgres_instance(
    postgres_database: str, tmp_path: pytest.TempPathFactory
) -> Iterator[dg.DagsterInstance]:
    """The production profile's storage (dagster-postgres, psycopg2) on a fresh database."""
    url = postgres_database.replace("postgresql://", "postgresql+psycopg2://", 1)
    with dg.instance_for_test(
        temp_dir=str(tmp_path), overrides={"storage": {"postgres": {"postgres_url": url}}}
    ) as instance:
        yield instance


def _connections_opened(
    job: dg.JobDefinition, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> int:
    """New connections to the database while `job` runs as a run worker runs it (SQLAlchemy's
    psycopg2 dialect opens each through `psycopg2.connect`)."""
    opened: list[int] = []
    connect = psycopg2.connect

    def counted(*args: Any, **kwargs: Any) -> Any:
        opened.append(1)
        return connect(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(psycopg2, "connect", counted)
        assert _run_like_a_worker(job, instance).is_success
    return len(opened)


def test_a_run_worker_holds_its_postgres_connection_instead_of_one_per_event(
    postgres_instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    dagsters = _connections_opened(dagster_job, postgres_instance, monkeypatch)
    ours = _connections_opened(streaming_job, postgres_instance, monkeypatch)
    assert dagsters > 2 * EVENTS  # Dagster's own: one or more for each event it stores
    # Held: a few, for the moments Dagster wants two at once (with tags on a materialization,
    # its `has_table` asks for a second inside the event's transaction: one each then).
    assert ours < dagsters / 10
    materializations = postgres_instance.fetch_materializations(
        dg.AssetKey("thing"), limit=2 * EVENTS + 1
    )
    assert len(materializations.records) == 2 * EVENTS  # every event of both runs was stored
