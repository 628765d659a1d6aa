"""Benchmark: `character_catalog` alone, over a cast a pipeline run left, in a fresh process.

    python -m benchmarks.pipeline_run --characters 10000 --keep /tmp/cast-10k
    python -m benchmarks.catalog /tmp/cast-10k [--cold]

A catalog is a run of its own in a deployment (the automation condition launches it after the
characters' runs), so it is timed here in a process that made no characters. The first build
starts from nothing the last catalog left: its index, sheets, gallery and table are removed, so
every character is read and every sheet drawn. Then it is built again with nothing changed.
`--cold` drops the machine's page cache first (root only), as a cast written long ago or
pushed out of memory by a run's images would be read.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import time
from pathlib import Path

from benchmarks.pipeline_run import cast_environment


def forget_the_last_catalog(storage: Path, prefix: str) -> None:
    """Remove what a catalog writes, so that the next one builds everything."""
    from chargen_assets.catalog import CONTACT_SHEET
    from chargen_resources.characters.gallery import GALLERY_PAGE
    from chargen_resources.storage.layout import beside_results, catalog_index_key

    sheet_stem = beside_results(prefix, CONTACT_SHEET).removesuffix(".png")
    for path in storage.glob(f"{sheet_stem}*.png"):
        path.unlink()
    for key in (catalog_index_key(prefix), beside_results(prefix, GALLERY_PAGE)):
        (storage / key).unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("cast", type=Path, help="a folder `pipeline_run --keep` left")
    parser.add_argument("--cold", action="store_true", help="drop the page cache first (root)")
    args = parser.parse_args(argv)
    args.cast = args.cast.resolve()
    home = args.cast / "dagster_home"
    if not (home / "dagster.yaml").exists():
        parser.error(f"{args.cast} holds no cast: make one with `pipeline_run --keep {args.cast}`")
    os.environ.update({**cast_environment(args.cast), "DAGSTER_HOME": str(home)})

    import dagster as dg

    from chargen_assets.catalog import character_catalog
    from chargen_assets.definitions import build_defs
    from chargen_assets.pipeline import character_pipeline
    from chargen_resources.storage.locations import DEFAULT_PREFIX

    resources = build_defs().resources or {}
    forget_the_last_catalog(args.cast / "storage", DEFAULT_PREFIX)
    if args.cold:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    timings = []
    with dg.DagsterInstance.get() as instance:
        for _ in range(2):  # the whole cast, then again with nothing changed
            started, cpu_started = time.perf_counter(), time.process_time()
            result = dg.materialize(
                [character_pipeline, character_catalog],
                selection=[character_catalog],
                instance=instance,
                resources=resources,
                run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
            )
            timings.append((time.perf_counter() - started, time.process_time() - cpu_started))
            metadata = result.asset_materializations_for_node("character_catalog")[0].metadata
    characters = metadata["characters"].value
    print(f"`python -m benchmarks.catalog {args.cast}{' --cold' if args.cold else ''}`")
    print()
    print("| measure | value |")
    print("|---|---:|")
    print(f"| characters | {characters} |")
    print(f"| first catalog, wall / CPU | {timings[0][0]:.1f} s / {timings[0][1]:.1f} s |")
    print(f"| again, nothing changed | {timings[1][0]:.1f} s / {timings[1][1]:.1f} s |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"| peak RSS of the process | {peak:.0f} MB |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
