"""Benchmark: a whole cast through the pipeline in one run, against the embedded emulator.

    python -m benchmarks.pipeline_run --characters 100 --size 1K

Draws N sketch folders (every sketch different, as in a studio's inbox: each is uploaded to the
Files API once, none is shared), then materializes all four assets over them in one Dagster run (one
analysis job, one image job) with local storage, and reports wall time, peak RSS of
the process and the number of batch jobs. The inbox sensor's planning over the same folders is
timed in a process of its own, as the daemon has the code server evaluate it: its first tick as
the folders arrive (just drawn, before the run), and after the run its first tick again and
unchanged ticks (the first, and the median of five more); with `--in-memory-instance`, only
after the run, in this process. The emulator's batch clock is set to zero, so the figures are
chargen's own overhead (and the emulator's rendering), not Gemini's queueing time.

The Dagster instance is `make dev`'s: the project's dagster.yaml in a temporary DAGSTER_HOME,
its event log on disk (SQLite files, chargen's event log storage: each planned check row holds
only its own character; chargen_assets/event_log_storage.py). `--in-memory-instance` keeps it
in this process's memory instead (Dagster's ephemeral instance with chargen's in-memory event
log), as this benchmark did before: that in-memory event log holds every materialization with
its tags and indexes, about 85 KB per character, which is Dagster's storage in RAM and not the
run's own memory. `--postgres` puts it
on the production profile's storage instead (deploy/dagster.yaml's, a fresh database on the
`.ci/postgres` server or CHARGEN_TEST_POSTGRES_URL's, dropped afterwards), as a deployment's
run worker has it.
The run is created in a child process, as Dagster's daemon or webserver creates a run before a
run worker starts (timed apart: for a ranged run Dagster logs a planned materialization per
partition and asset, which takes minutes and 100+ MB at thousands of characters), and executed
here as a run worker executes it (`execute_run_iterator`: each event goes to the instance and
is dropped); `--in-process` uses `dagster.materialize` instead, which keeps
every event of the run in a list for its result (four materializations and a check
evaluation per character, each with its metadata and tags).
`--catalog` also materializes `character_catalog` over the cast and times it, then once more
with nothing changed (it reads only what was stored since the last catalog). `--keep FOLDER`
keeps the cast (inbox, storage, emulator state, Dagster instance) for `benchmarks.catalog`.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]

QUIET_TICKS = 6


def draw_inbox(root: Path, count: int) -> list[str]:
    names = []
    for index in range(count):
        name = f"hero-{index:05d}"
        folder = root / name
        folder.mkdir(parents=True)
        image = Image.new("RGB", (256, 384), (240, 240, 240))
        pen = ImageDraw.Draw(image)
        # A colour of its own for each of 40,000 characters: no two sketches share an upload.
        colour = (40 + index % 200, 40 + (index // 200) % 200, (index * 151) % 256)
        pen.ellipse((100, 20, 156, 76), fill=colour)
        pen.rectangle((90, 80, 166, 260), fill=colour)
        image.save(folder / "front.png")
        names.append(name)
    return names


def cast_environment(root: Path) -> dict[str, str]:
    """Where a benchmark's cast lives: its inbox, storage and emulator state under `root`."""
    return {
        "CHARGEN_INBOX": str(root / "inbox"),
        "CHARGEN_STORAGE": str(root / "storage"),
        "CHARGEN_EMULATOR_STATE": str(root / "emulator"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--characters", type=int, default=100)
    parser.add_argument("--size", choices=["1K", "2K", "4K"], default="1K")
    instance_kind = parser.add_mutually_exclusive_group()
    instance_kind.add_argument("--in-memory-instance", action="store_true")
    instance_kind.add_argument("--postgres", action="store_true")
    parser.add_argument("--catalog", action="store_true")
    parser.add_argument("--in-process", action="store_true")
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="FOLDER",
        help="work in this new folder and keep it (`python -m benchmarks.catalog` reads it)",
    )
    parser.add_argument("--create-run", metavar="DAGSTER_HOME", help=argparse.SUPPRESS)
    parser.add_argument("--measure-ticks", metavar="DAGSTER_HOME", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.create_run:
        return _create_run_command(args.create_run)
    if args.measure_ticks:
        return _measure_ticks_command(args.measure_ticks)
    created: float | None = None

    kept: contextlib.AbstractContextManager[str]
    if args.keep is not None:
        args.keep.mkdir(parents=True)  # a new folder: nothing of another cast is mixed in
        kept = contextlib.nullcontext(str(args.keep.resolve()))
    else:
        kept = tempfile.TemporaryDirectory(prefix="chargen-bench-")
    with kept as folder:
        root = Path(folder)
        os.environ.update(
            {
                **cast_environment(root),
                "CHARGEN_POLL_SECONDS": "0.2",
                "CHARGEN_EMULATOR_PENDING_SECONDS": "0",
                "CHARGEN_EMULATOR_RUNNING_SECONDS": "0",
                "CHARGEN_EMULATOR_DRAFT_IMAGES": "0",
            }
        )
        os.environ.pop("GEMINI_API_KEY", None)
        started = time.perf_counter()
        names = draw_inbox(root / "inbox", args.characters)
        drawn = time.perf_counter() - started

        import dagster as dg

        from chargen_assets.definitions import build_defs
        from chargen_assets.event_log_storage import in_memory_instance
        from chargen_assets.partitions import CHARACTERS
        from chargen_assets.pipeline import character_pipeline

        defs = build_defs()
        resources = defs.resources or {}
        (root / "dagster_home").mkdir()
        instance_cm: contextlib.AbstractContextManager[Any]
        if args.postgres:
            from benchmarks.scale import postgres_instance, postgres_server

            instance_cm = postgres_instance(postgres_server(None), root / "dagster_home")
        elif args.in_memory_instance:
            instance_cm = in_memory_instance()
        else:
            # As `make dev` makes it; the child processes find it the same way.
            shutil.copy(REPO / "dagster.yaml", root / "dagster_home" / "dagster.yaml")
            os.environ["DAGSTER_HOME"] = str(root / "dagster_home")
            instance_cm = dg.DagsterInstance.local_temp(str(root / "dagster_home"))
        with instance_cm as instance:
            instance.add_dynamic_partitions(CHARACTERS, names)
            # The first tick as a studio's drop meets it: the folders just written, no run yet.
            arrival_tick = (
                None
                if args.in_memory_instance
                else _measure_ticks_in_child(root / "dagster_home").first
            )
            started = time.perf_counter()
            cpu_started = time.process_time()
            tags = {
                "dagster/asset_partition_range_start": names[0],
                "dagster/asset_partition_range_end": names[-1],
            }
            run_config = {
                "ops": {"character_pipeline": {"config": {"image_size": args.size}}},
                "loggers": {"console": {"config": {"log_level": "ERROR"}}},
            }
            if args.in_process:
                result = dg.materialize(
                    [character_pipeline],
                    instance=instance,
                    resources=resources,
                    tags=tags,
                    run_config=run_config,
                    raise_on_error=False,
                )
                success = result.success
            else:
                job = benchmark_job(character_pipeline, resources)
                if args.in_memory_instance:
                    run_id = create_run(job, instance, run_config, tags)
                else:
                    run_id = _create_run_in_child(root / "dagster_home", run_config, tags)
                created = time.perf_counter() - started
                started = time.perf_counter()
                cpu_started = time.process_time()
                success = _execute_like_a_run_worker(job, instance, run_id)
            total = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            done = len(instance.get_materialized_partitions(dg.AssetKey("character_image")))
            jobs = _count_jobs(resources)

            if args.in_memory_instance:  # no other process can open this instance
                ticks = _measure_ticks(instance, resources)
            else:
                ticks = _measure_ticks_in_child(root / "dagster_home")

            catalogs: list[float] = []
            if args.catalog:
                from chargen_assets.catalog import character_catalog

                for _ in range(2):  # the whole cast, then again with nothing changed
                    started = time.perf_counter()
                    dg.materialize(
                        [character_pipeline, character_catalog],
                        selection=[character_catalog],
                        instance=instance,
                        resources=resources,
                        run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
                    )
                    catalogs.append(time.perf_counter() - started)

        print(
            f"`python -m benchmarks.pipeline_run --characters {args.characters} --size {args.size}`"
        )
        print()
        print("| measure | value |")
        print("|---|---:|")
        print(f"| characters materialized (of {args.characters}) | {done} |")
        print(f"| batch jobs | {jobs} |")
        print(f"| whole run | {total:.1f} s ({total / max(done, 1) * 1000:.0f} ms per character) |")
        if created is not None:
            print(f"| creating the run (Dagster, before the run starts) | {created:.1f} s |")
        print(f"| CPU time of the run (user + system, all threads) | {cpu:.1f} s |")
        print(f"| peak RSS of the run process | {peak:.0f} MB |")
        where = (
            "Postgres" if args.postgres else "in memory" if args.in_memory_instance else "on disk"
        )
        print(f"| Dagster instance | {where} |")
        print(f"| drawing the inbox (not chargen) | {drawn:.1f} s |")
        if arrival_tick is not None:
            print(
                "| inbox sensor, first tick as the folders arrive (before the run) | "
                f"{arrival_tick * 1000:.0f} ms |"
            )
        print(f"| inbox sensor, first tick after the run | {ticks.first * 1000:.0f} ms |")
        later = statistics.median(ticks.quiet[1:])
        print(
            f"| inbox sensor, unchanged tick: first / median of the next {QUIET_TICKS - 1} | "
            f"{ticks.quiet[0] * 1000:.0f} ms / {later * 1000:.0f} ms |"
        )
        if catalogs:
            print(f"| character_catalog over the cast | {catalogs[0]:.1f} s |")
            print(f"| character_catalog again, nothing changed | {catalogs[1]:.1f} s |")
            after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"| peak RSS with the sensor ticks and the catalog | {after:.0f} MB |")
        return 0 if success else 1


def benchmark_job(assets: Any, resources: Mapping[str, Any]) -> Any:
    import dagster as dg

    from chargen_assets.executor import streaming_in_process_executor

    return dg.Definitions(
        jobs=[
            dg.define_asset_job(
                "pipeline_run_benchmark", executor_def=streaming_in_process_executor
            )
        ],
        assets=[assets],
        resources=resources,
    ).resolve_job_def("pipeline_run_benchmark")


def create_run(
    job: Any, instance: Any, run_config: Mapping[str, Any], tags: Mapping[str, str]
) -> str:
    run = instance.create_run_for_job(job_def=job, run_config=run_config, tags=dict(tags))
    return str(run.run_id)


def _in_child(option: str, home: Path, given: str = "") -> str:
    """Run this benchmark with `option` on the instance at `home` in a fresh interpreter,
    `given` on its stdin; returns the last line it prints."""
    package_root = str(REPO)
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.pipeline_run", option, str(home)],
        input=given,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": package_root},
    )
    return done.stdout.strip().splitlines()[-1]


def _create_run_in_child(home: Path, run_config: Mapping[str, Any], tags: Mapping[str, str]) -> str:
    """Create the run in another process, as Dagster's daemon or webserver does before a run
    worker starts (creating a ranged run logs a planned event per partition and asset)."""
    return _in_child("--create-run", home, json.dumps({"run_config": run_config, "tags": tags}))


def _create_run_command(home: str) -> int:
    import dagster as dg

    from chargen_assets.definitions import build_defs
    from chargen_assets.pipeline import character_pipeline

    asked = json.loads(sys.stdin.read())
    job = benchmark_job(character_pipeline, build_defs().resources or {})
    from dagster._core.instance.ref import InstanceRef

    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(home)) as instance:
        print(create_run(job, instance, asked["run_config"], asked["tags"]))
    return 0


@dataclass(frozen=True)
class Ticks:
    """The inbox sensor's ticks over the cast, in seconds."""

    first: float
    quiet: list[float]  # unchanged ones


def _measure_ticks(instance: Any, resources: Mapping[str, Any]) -> Ticks:
    """The inbox sensor's first tick over the cast, then QUIET_TICKS unchanged ones."""
    import dagster as dg

    from chargen_assets.sensors import inbox_sensor

    sensor_resources = {"inbox": resources["inbox"], "storage": resources["storage"]}
    with dg.build_sensor_context(instance=instance, resources=sensor_resources) as context:
        started = time.perf_counter()
        first = inbox_sensor(context)
        first_tick = time.perf_counter() - started
        cursor = first.cursor if isinstance(first, dg.SensorResult) else None
    # The daemon ticks every 30 s: the first unchanged tick, and the median of the next.
    quiet_ticks = []
    for _ in range(QUIET_TICKS):
        with dg.build_sensor_context(
            instance=instance, cursor=cursor, resources=sensor_resources
        ) as context:
            started = time.perf_counter()
            inbox_sensor(context)
            quiet_ticks.append(time.perf_counter() - started)
    return Ticks(first_tick, quiet_ticks)


def _measure_ticks_in_child(home: Path) -> Ticks:
    """The ticks in a process of their own, as the daemon has the code server evaluate them:
    a process holding the definitions (and the scan its last tick remembered), not a run
    worker's heap after a run."""
    return Ticks(**json.loads(_in_child("--measure-ticks", home)))


def _measure_ticks_command(home: str) -> int:
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef

    from chargen_assets.definitions import build_defs

    resources = build_defs().resources or {}
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(home)) as instance:
        ticks = _measure_ticks(instance, resources)
    print(json.dumps(dataclasses.asdict(ticks)))
    return 0


def _execute_like_a_run_worker(job: Any, instance: Any, run_id: str) -> bool:
    """Execute the run as a run worker does: each event goes to the instance, none is kept."""
    from dagster._core.definitions.job_base import InMemoryJob
    from dagster._core.execution.api import execute_run_iterator

    run = instance.get_run_by_id(run_id)
    for _event in execute_run_iterator(InMemoryJob(job), run, instance):
        pass
    finished = instance.get_run_by_id(run_id)
    return finished is not None and finished.is_success


def _count_jobs(resources: Mapping[str, Any]) -> int:
    gemini = resources["gemini"]
    client = gemini.connection().client
    return sum(1 for job in client.batches.list() if re.match(r"chargen-", job.display_name or ""))


if __name__ == "__main__":
    raise SystemExit(main())
