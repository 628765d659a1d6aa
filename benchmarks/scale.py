"""Benchmark: Dagster's own side at 100,000 characters, on Postgres (production) and SQLite.

    python -m benchmarks.scale                 # 100,000 partitions, both backends
    python -m benchmarks.scale --quick         # 10,000
    python -m benchmarks.scale --backends postgres --partitions 50000

For each instance storage, on a fresh instance:
- adds N keys to the `characters` dynamic partitions definition in batches (as the inbox sensor's
  dynamic partition requests would, one batch per tick), timing the whole and the last batch;
- times the inbox sensor tick's own Dagster calls at that scale: `get_dynamic_partitions`
  (the sensor reads the whole set), `has_dynamic_partition`, and adding a tick's few new keys;
- creates a run over as many characters as the sensor puts in one run
  (`CHARGEN_MAX_CHARACTERS_PER_RUN`, 1,000), as the daemon does before launching it;
- records some materializations of `character_image`, then runs the GraphQL query the UI's
  Partitions tab makes for it (`assetNodeOrError { partitionKeysByDimension,
  assetPartitionStatuses }`) through dagster_graphql against the chargen code location, cold
  (first, fills Dagster's asset status cache) and warm.
Then, on SQLite, where it stops working (dagster issue 16260, "too many SQL variables"): one
`add_dynamic_partitions` call of growing sizes on a fresh instance, under this machine's SQLite
build limit on bound variables and under 32,766 (SQLite's default since 3.32, which builds such
as macOS's keep; Debian raises it to 250,000), set on each connection with `setlimit`.

Postgres: `--postgres-url`, else CHARGEN_TEST_POSTGRES_URL, else `.ci/postgres` (which installs
and starts Debian's server on loopback). Each run uses a fresh database, dropped at the end; the
instance is deploy/dagster.yaml's `storage` section (DAGSTER_PG_* variables).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

REPO = Path(__file__).resolve().parents[1]
CHARACTERS = "characters"
ASSET = "character_image"
SQLITE_DEFAULT_VARIABLE_LIMIT = 32766

PARTITIONS_TAB_QUERY = """
query PartitionHealthQuery($assetKey: AssetKeyInput!) {
  assetNodeOrError(assetKey: $assetKey) {
    __typename
    ... on AssetNode {
      id
      partitionKeysByDimension { name type partitionKeys }
      assetPartitionStatuses {
        __typename
        ... on DefaultPartitionStatuses {
          materializedPartitions materializingPartitions failedPartitions
        }
      }
    }
  }
}
"""


@dataclass
class Table:
    rows: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, backend: str, measure: str, value: str) -> None:
        self.rows.append((backend, measure, value))
        print(f"  {backend:<9} {measure:<58} {value}", flush=True)

    def markdown(self) -> str:
        lines = ["| storage | measure | value |", "|---|---|---:|"]
        lines += [f"| {b} | {m} | {v} |" for b, m, v in self.rows]
        return "\n".join(lines)


def seconds(value: float) -> str:
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def median_time(call: Callable[[], Any], repeat: int) -> float:
    return statistics.median(timed(call)[0] for _ in range(repeat))


def failure(error: BaseException) -> str:
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return f"FAILS: {type(error).__name__}: {first[:120]}"


def keys(start: int, count: int) -> list[str]:
    return [f"hero-{index:06d}" for index in range(start, start + count)]


# --- instances -----------------------------------------------------------------------------------


def postgres_server(url: str | None) -> str:
    url = url or os.environ.get("CHARGEN_TEST_POSTGRES_URL")
    if url:
        return url
    setup = subprocess.run(
        [str(REPO / ".ci" / "postgres")], capture_output=True, text=True, check=True
    )
    return setup.stdout.strip().splitlines()[-1]


@contextlib.contextmanager
def postgres_instance(server: str, home: Path) -> Iterator[Any]:
    """A fresh database with deploy/dagster.yaml's storage section, dropped afterwards."""
    import dagster as dg
    import psycopg2

    name = f"chargen_scale_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(f"{server}/postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    where = urlsplit(server)
    deploy = yaml.safe_load((REPO / "deploy" / "dagster.yaml").read_text())
    storage = deploy["storage"]
    storage["postgres"]["postgres_db"]["port"] = where.port or 5432
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(
        yaml.safe_dump({"storage": storage, "telemetry": {"enabled": False}})
    )
    os.environ.update(
        DAGSTER_PG_HOST=where.hostname or "127.0.0.1",
        DAGSTER_PG_USERNAME=where.username or "",
        DAGSTER_PG_PASSWORD=where.password or "",
        DAGSTER_PG_DB=name,
    )
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            yield instance
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@contextlib.contextmanager
def sqlite_instance(home: Path) -> Iterator[Any]:
    """`make dev`'s storage: SQLite files in the instance's home, its event log chargen's
    (the project's dagster.yaml), which finds its folder by DAGSTER_HOME."""
    import dagster as dg

    home.mkdir(parents=True, exist_ok=True)
    local = yaml.safe_load((REPO / "dagster.yaml").read_text())
    settings = {"event_log_storage": local["event_log_storage"], "telemetry": {"enabled": False}}
    (home / "dagster.yaml").write_text(yaml.safe_dump(settings))
    before = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home)
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            yield instance
    finally:
        if before is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = before


_variable_limit: list[int] = []


def _limit_sqlite_variables(dbapi_connection: Any, _record: Any) -> None:
    if _variable_limit and isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, _variable_limit[-1])


@contextlib.contextmanager
def sqlite_variable_limit(limit: int | None) -> Iterator[None]:
    """Every SQLite connection opened meanwhile allows at most `limit` bound variables."""
    if limit is None:
        yield
        return
    _variable_limit.append(limit)
    try:
        yield
    finally:
        _variable_limit.pop()


def build_variable_limit() -> int:
    with sqlite3.connect(":memory:") as connection:
        return int(connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))


# --- measures ------------------------------------------------------------------------------------


def add_in_batches(instance: Any, count: int, batch: int, backend: str, table: Table) -> None:
    start = time.perf_counter()
    last = 0.0
    for offset in range(0, count, batch):
        chunk = keys(offset, min(batch, count - offset))
        last, _ = timed(functools.partial(instance.add_dynamic_partitions, CHARACTERS, chunk))
    total = time.perf_counter() - start
    table.add(backend, f"add {count:,} partitions, {batch:,} per call", seconds(total))
    table.add(backend, f"  the last call of {batch:,} (at {count:,})", seconds(last))


def sensor_calls(instance: Any, count: int, backend: str, table: Table) -> None:
    listed = instance.get_dynamic_partitions(CHARACTERS)
    assert len(listed) == count, (len(listed), count)
    table.add(
        backend,
        f"get_dynamic_partitions ({count:,} keys)",
        seconds(median_time(lambda: instance.get_dynamic_partitions(CHARACTERS), 5)),
    )
    probe = keys(count // 2, 1)[0]
    table.add(
        backend,
        "has_dynamic_partition",
        seconds(median_time(lambda: instance.has_dynamic_partition(CHARACTERS, probe), 20)),
    )
    fresh = [f"new-{uuid.uuid4().hex[:8]}" for _ in range(10)]
    took, _ = timed(lambda: instance.add_dynamic_partitions(CHARACTERS, fresh))
    table.add(backend, "add a tick's 10 new partitions", seconds(took))
    instance.delete_dynamic_partition(CHARACTERS, fresh[0])  # keep the set at count + 9


def create_sensor_run(instance: Any, backend: str, table: Table) -> None:
    """Create a run over as many characters as the inbox sensor puts in one, as the daemon does
    before it can launch it: Dagster records a planned materialization per character and stage."""
    from benchmarks.pipeline_run import benchmark_job, create_run
    from chargen_assets.definitions import build_defs
    from chargen_assets.pipeline import character_pipeline
    from chargen_assets.sensors import MAX_CHARACTERS_PER_RUN, RANGE_END, RANGE_START

    job = benchmark_job(character_pipeline, build_defs().resources or {})
    cast = keys(0, MAX_CHARACTERS_PER_RUN)
    tags = {RANGE_START: cast[0], RANGE_END: cast[-1]}
    took, _ = timed(lambda: create_run(job, instance, {}, tags))
    table.add(backend, f"create a run over {MAX_CHARACTERS_PER_RUN:,} characters", seconds(took))


def record_materializations(instance: Any, count: int, how_many: int) -> None:
    import dagster as dg

    step = max(1, count // how_many)
    for index in range(0, step * how_many, step):
        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key=ASSET, partition=keys(index, 1)[0])
        )


@contextlib.contextmanager
def chargen_workspace(instance: Any) -> Iterator[Any]:
    """The chargen code location as the webserver loads it (its own gRPC process)."""
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import ModuleTarget

    target = ModuleTarget(
        module_name="chargen_assets.definitions",
        attribute="defs",
        working_directory=str(REPO),
        location_name="chargen",
    )
    with WorkspaceProcessContext(instance, target) as process_context:
        yield process_context


def partitions_tab(
    instance: Any, count: int, materialized: int, backend: str, table: Table
) -> None:
    from dagster_graphql.test.utils import execute_dagster_graphql

    took, _ = timed(lambda: record_materializations(instance, count, materialized))
    table.add(
        backend,
        f"record a materialization (x{materialized:,}, runless)",
        seconds(took / materialized),
    )
    with chargen_workspace(instance) as process_context:
        variables = {"assetKey": {"path": [ASSET]}}
        for when in ("cold", "warm"):
            context = process_context.create_request_context()
            try:
                took, result = timed(
                    functools.partial(
                        execute_dagster_graphql, context, PARTITIONS_TAB_QUERY, variables
                    )
                )
            except Exception as error:  # reported in the table
                table.add(backend, f"UI Partitions tab query ({when})", failure(error))
                continue
            if result.errors:
                table.add(backend, f"UI Partitions tab query ({when})", failure(result.errors[0]))
                continue
            node = result.data["assetNodeOrError"]
            listed = len(node["partitionKeysByDimension"][0]["partitionKeys"])
            done = len(node["assetPartitionStatuses"]["materializedPartitions"])
            table.add(
                backend,
                f"UI Partitions tab query ({when}; {listed:,} keys, {done:,} done)",
                seconds(took),
            )


def where_sqlite_stops(root: Path, table: Table, quick: bool) -> None:
    """One add_dynamic_partitions call of growing size, each on a fresh SQLite instance."""
    build = build_variable_limit()
    trials: list[tuple[int | None, str, list[int]]] = [
        (
            SQLITE_DEFAULT_VARIABLE_LIMIT,
            f"SQLite's default limit, {SQLITE_DEFAULT_VARIABLE_LIMIT:,}",
            [10_000, 20_000, 32_765, 32_766],
        ),
    ]
    if not quick:
        trials.append((None, f"this build's limit, {build:,}", [100_000, build, build + 1]))
    for index, (limit, label, sizes) in enumerate(trials):
        for size in sizes:
            home = root / f"sqlite-limit-{index}-{size}"
            with sqlite_variable_limit(limit), sqlite_instance(home) as instance:
                try:
                    took, _ = timed(
                        functools.partial(
                            instance.add_dynamic_partitions, CHARACTERS, keys(0, size)
                        )
                    )
                except Exception as error:  # what we look for
                    table.add("sqlite", f"one add of {size:,} keys ({label})", failure(error))
                    break
                table.add("sqlite", f"one add of {size:,} keys ({label})", f"ok, {seconds(took)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--partitions", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="10,000 partitions")
    parser.add_argument("--batch", type=int, default=1_000, help="partitions per add call")
    parser.add_argument("--materialized", type=int, default=100)
    parser.add_argument("--backends", default="postgres,sqlite")
    parser.add_argument("--postgres-url", default=None)
    args = parser.parse_args(argv)
    count = 10_000 if args.quick else args.partitions
    materialized = min(args.materialized, count)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]

    import sqlalchemy

    sqlalchemy.event.listen(sqlalchemy.engine.Engine, "connect", _limit_sqlite_variables)
    os.environ.setdefault("PYTHONWARNINGS", "ignore::FutureWarning")
    table = Table()
    print(f"{count:,} partitions of '{CHARACTERS}', python {sys.version.split()[0]}", flush=True)
    with tempfile.TemporaryDirectory(prefix="chargen-scale-") as folder:
        root = Path(folder)
        os.environ.update(
            CHARGEN_STORAGE=str(root / "storage"),
            CHARGEN_INBOX=str(root / "inbox"),
            CHARGEN_EMULATOR_STATE=str(root / "emulator"),
        )
        for backend in backends:
            home = root / backend
            opened = (
                postgres_instance(postgres_server(args.postgres_url), home)
                if backend == "postgres"
                else sqlite_instance(home)
            )
            with opened as instance:
                try:
                    add_in_batches(instance, count, args.batch, backend, table)
                    sensor_calls(instance, count, backend, table)
                    create_sensor_run(instance, backend, table)
                    partitions_tab(instance, count, materialized, backend, table)
                except Exception as error:  # reported in the table
                    table.add(backend, "stopped", failure(error))
        if "sqlite" in backends:
            where_sqlite_stops(root, table, args.quick)
    print()
    print(table.markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
