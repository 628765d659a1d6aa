"""The run's executor: Dagster's in-process executor, minus a step's events kept for hooks, with
its database connection held for the run.

Dagster's in-process executor keeps every event a step yields in a list, to hand to the step's
hooks when the step ends (`inner_plan_execution_iterator` in Dagster 1.13's
`_core/execution/plan/execute_plan.py`). chargen runs the whole cast as one step that logs five
events per character (four materializations, one check verdict): about 20 KB each character
when it logged nine, 200 MB at 10,000, held until the step ends, for hooks chargen does not have.

This executor runs the same loop and keeps that list only for a step that has hooks. The rest
(retries, concurrency, compute-log capture, failures, hooks) is Dagster's own code, called as
the in-process executor calls it. It is the in-process executor in every other respect,
configured the same way (`execution: config: retries: ...`).

It also holds the run worker's connection to the instance's database, as Dagster's webserver
does. Dagster's Postgres storage has no pool outside the webserver: it opens a connection for
every event it stores, and often two (5 ms each on loopback with Debian's password exchange,
more over TLS), for a dozen events per character. On SQLite this changes nothing.
"""

from __future__ import annotations

import os
import sys
import threading
import weakref
from collections.abc import Iterator
from contextlib import ExitStack

import dagster as dg
from dagster._core.definitions.executor_definition import (
    IN_PROC_CONFIG,
    _core_in_process_executor_creation,
)
from dagster._core.events import DagsterEvent, EngineEventData
from dagster._core.execution.api import ExecuteRunWithPlanIterable
from dagster._core.execution.compute_logs import create_compute_log_file_key
from dagster._core.execution.context.system import PlanExecutionContext, PlanOrchestrationContext
from dagster._core.execution.context_creation_job import PlanExecutionContextManager
from dagster._core.execution.plan import execute_plan as dagster_plan
from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext
from dagster._core.execution.plan.plan import ExecutionPlan
from dagster._core.executor.in_process import InProcessExecutor


class StreamingInProcessExecutor(InProcessExecutor):
    """Steps in this process, one after another; a hook-less step's events are not kept."""

    def execute(
        self, plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan
    ) -> Iterator[DagsterEvent]:
        steps = execution_plan.step_keys_to_execute
        hold_database_connection(plan_context.instance)
        yield DagsterEvent.engine_event(
            plan_context,
            f"Executing steps in process (pid: {os.getpid()})",
            event_specific_data=EngineEventData.in_process(os.getpid(), steps),
        )
        yield from iter(
            ExecuteRunWithPlanIterable(
                execution_plan=plan_context.execution_plan,
                iterator=_plan_events,
                execution_context_manager=PlanExecutionContextManager(
                    job=plan_context.job,
                    retry_mode=plan_context.retry_mode,
                    execution_plan=plan_context.execution_plan,
                    run_config=plan_context.run_config,
                    dagster_run=plan_context.dagster_run,
                    instance=plan_context.instance,
                    raise_on_error=plan_context.raise_on_error,
                    output_capture=plan_context.output_capture,
                    step_dependency_config=self.step_dependency_config,
                ),
            )
        )
        yield DagsterEvent.engine_event(
            plan_context,
            f"Finished steps in process (pid: {os.getpid()})",
            event_specific_data=EngineEventData.in_process(os.getpid(), steps),
        )


# What a run worker's held connection is allowed: no statement timeout (Dagster sets one on
# each connection it pools; 0 is none, as a run worker had, though it also overrides a timeout
# set on the database role), replaced every five minutes (before a NAT or proxy drops one left
# idle through a long download), and a few more for the moments Dagster needs two at once.
POOL_RECYCLE_SECONDS = 300
POOL_MAX_OVERFLOW = 4


_HOLDING: weakref.WeakSet[dg.DagsterInstance] = weakref.WeakSet()
_HOLDING_LOCK = threading.Lock()


def hold_database_connection(instance: dg.DagsterInstance) -> None:
    """One pooled connection for this process's events instead of one per event, by Dagster's
    own means for the webserver (a no-op for storages that keep no connections, like SQLite).
    Once per instance: doing it again would replace a pool still holding its connection."""
    with _HOLDING_LOCK:
        if instance in _HOLDING:
            return
        instance.optimize_for_webserver(
            statement_timeout=0, pool_recycle=POOL_RECYCLE_SECONDS, max_overflow=POOL_MAX_OVERFLOW
        )
        _HOLDING.add(instance)


@dg.executor(name="in_process_streaming", config_schema=IN_PROC_CONFIG)
def streaming_in_process_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
    """Dagster's in-process executor that does not keep a hook-less step's events in memory."""
    configured = _core_in_process_executor_creation(init_context.executor_config)
    return StreamingInProcessExecutor(
        retries=configured.retries,
        step_dependency_config=configured.step_dependency_config,
    )


def _plan_events(
    job_context: PlanExecutionContext,
    execution_plan: ExecutionPlan,
    instance_concurrency_context: InstanceConcurrencyContext | None = None,
) -> Iterator[DagsterEvent]:
    """Dagster's `inner_plan_execution_iterator`, keeping step events only for hooks."""
    with InstanceConcurrencyContext(job_context.instance, job_context.dagster_run) as concurrency:
        yield from _steps(job_context, execution_plan, concurrency)


def _steps(
    job_context: PlanExecutionContext,
    execution_plan: ExecutionPlan,
    concurrency: InstanceConcurrencyContext,
) -> Iterator[DagsterEvent]:
    compute_logs = job_context.instance.compute_log_manager
    step_keys = [step.key for step in execution_plan.get_steps_to_execute_in_topo_order()]
    with (
        execution_plan.start(
            retry_mode=job_context.retry_mode,
            instance_concurrency_context=concurrency,
            step_dependency_config=job_context.step_dependency_config,
        ) as active_execution,
        ExitStack() as capture_stack,
    ):
        log_key = compute_logs.build_log_key_for_run(
            job_context.run_id, create_compute_log_file_key()
        )
        try:
            log_context = capture_stack.enter_context(compute_logs.capture_logs(log_key))
            yield DagsterEvent.capture_logs(job_context, step_keys, log_key, log_context)
        except Exception:
            yield from dagster_plan._handle_compute_log_setup_error(job_context, sys.exc_info())

        while not active_execution.is_complete:
            step = active_execution.get_next_step()
            yield from active_execution.concurrency_event_iterator(job_context)
            if not step:
                active_execution.sleep_til_ready()
                continue
            step_context = job_context.for_step(step, active_execution.get_known_state())
            missing = [
                key
                for key in step_context.required_resource_keys
                if not hasattr(step_context.resources, key)
            ]
            if missing:
                raise dg.DagsterInvariantViolationError(
                    f"step {step.key} is missing resources {missing}"
                )
            hooked = step_context.job_def.get_all_hooks_for_handle(step_context.node_handle)
            # The one difference from Dagster's loop: no list unless a hook will read it.
            kept: list[DagsterEvent] = []
            for event in dagster_plan.dagster_event_sequence_for_step(step_context):
                if hooked:
                    kept.append(event)
                yield event
                active_execution.handle_event(event)
            active_execution.verify_complete(job_context, step.key)
            for event in active_execution.plan_events_iterator(job_context):
                if hooked:
                    kept.append(event)
                yield event
            yield from dagster_plan._trigger_hook(step_context, kept)

        try:
            capture_stack.close()
        except Exception:
            yield from dagster_plan._handle_compute_log_teardown_error(job_context, sys.exc_info())
