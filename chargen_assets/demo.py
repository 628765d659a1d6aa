"""`make demo`: every character in an inbox, end to end, in one run, then a summary.

It uses the same definitions as the UI (emulator unless GEMINI_API_KEY is set, local storage
unless CHARGEN_STORAGE says otherwise) and the same Dagster instance as `make dev`, so the
results are there to inspect in the UI afterwards. It exits non-zero only when the platform
itself broke; characters that fail (the bundled safety-blocked one, say) are reported.
"""

import argparse
import contextlib
import io
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import dagster as dg
import polars as pl
from dagster._core.execution.plan.objects import StepFailureData

from chargen_resources.pipeline import stage_names
from chargen_resources.pipeline.outcomes import unnamed
from chargen_resources.storage.locations import DEFAULT_STORAGE
from chargen_resources.words import counted

DEFAULT_HOME = Path(".chargen/dagster_home")
QUIET = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}  # no DEBUG event lines


def _prepare_environment(inbox: Path, home: Path) -> None:
    os.environ["CHARGEN_INBOX"] = str(inbox.resolve())
    os.environ.setdefault("CHARGEN_STORAGE", DEFAULT_STORAGE)
    if not os.environ.get("GEMINI_API_KEY"):  # the emulator's jobs finish in seconds
        os.environ.setdefault("CHARGEN_POLL_SECONDS", "0.5")
    # The emulator's batch clock: quick, but still visibly PENDING then RUNNING in the log.
    os.environ.setdefault("CHARGEN_EMULATOR_PENDING_SECONDS", "0.5")
    os.environ.setdefault("CHARGEN_EMULATOR_RUNNING_SECONDS", "1.0")
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home.resolve())
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(Path("dagster.yaml").read_text() if Path("dagster.yaml").exists() else "")


_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d ")
_FAILURE_CLASS = "dagster._core.definitions.events.Failure: "  # Dagster's prefix to the words


class _WithoutStackTraces(io.TextIOBase):
    """stderr for the demo's runs: Dagster prints the expected per-character Failure with a
    framework stack trace that reads like a crash; keep its message, drop the trace. A run that
    failed for its step's failure repeats that step's message: the line stays, the repeat goes."""

    def __init__(self, target: TextIO) -> None:
        self._target = target
        self._skipping = False
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            if line.startswith("Stack Trace:"):
                self._skipping = True
            elif _LOG_LINE.match(line):
                self._skipping = False
                if " - RUN_FAILURE - " in line and "Steps failed:" in line:  # said above
                    self._target.write(line + "\n")
                    self._skipping = True
                    continue
            if not self._skipping:
                self._target.write(line.replace(_FAILURE_CLASS, "") + "\n")
        return len(text)

    def flush(self) -> None:
        if self._pending and not self._skipping:
            self._target.write(self._pending)
        self._pending = ""
        self._target.flush()


def _summary(table: pl.DataFrame, images_at: str, gallery_at: str) -> str:
    # done, locked (an approved take) and stale (made from an older prompt) all have an image.
    made = pl.col("image_key").is_not_null() & (pl.col("status") != "failed")
    done = table.filter(made)
    others = table.filter(~made)
    name_width = max((len(name) for name in table["character"].to_list()), default=10) + 2
    lines = [
        "",
        f"chargen demo: {done.height} of {table.height} characters done, {others.height} not.",
    ]
    for row in done.iter_rows(named=True):
        size = f"{row['width']}x{row['height']}"
        lines.append(
            f"  {row['status']:<7} {row['character']:<{name_width}}{row['archetype'] or '':<12} "
            f"{size:<10} {row['image_key']}"
        )
    for row in others.iter_rows(named=True):
        reason = unnamed(row["reason"] or "", row["character"])  # the line names it already
        why = f"{row['failed_stage']}: {reason}" if row["failed_stage"] else "no image yet"
        lines.append(f"  {row['status']:<7} {row['character']:<{name_width}}{why}")
    tokens = int(table["tokens"].sum() or 0)
    cost = float(table["estimated_cost_usd"].sum() or 0.0)
    lines += [
        f"Images are under {images_at}/; the gallery is {gallery_at}",
        f"Their stored results together: {tokens:,} tokens, ${cost:.3f} at the prices they "
        "were made at (a batch job's half price, a single character's interactive full price; "
        "a run's own paid figure, in its log and its chargen/paid_usd tag, also counts requests "
        "that were refused; a re-run pays only for what it sends again).",
        "Open the UI with `make dev` to see lineage, metadata and thumbnails per character.",
    ]
    return "\n".join(lines)


def inbox_note(inbox: Path, configured: str | None) -> str | None:
    """A word when CHARGEN_INBOX names another inbox than the one the demo runs over (the demo
    sets it to its own for its run)."""
    if not configured or Path(configured).resolve() == inbox.resolve():
        return None
    return (
        f"chargen demo: running over {inbox} (--inbox); CHARGEN_INBOX={configured} is the inbox "
        f"`make dev` and its sensor watch: give --inbox {configured} to run the demo over it"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--inbox", default="inbox", help="the folder of character folders (default: %(default)s)"
    )
    parser.add_argument(
        "--dagster-home",
        type=Path,
        default=DEFAULT_HOME,
        help="the Dagster instance, shared with `make dev` (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    if args.inbox.startswith("s3://"):
        print(
            f"chargen demo: --inbox {args.inbox}: the demo reads a local folder; for an inbox "
            "on S3, set CHARGEN_INBOX to it and run `make dev` (its sensor adds and runs the "
            "characters)",
            file=sys.stderr,
        )
        return 2
    args.inbox = Path(args.inbox)
    if not args.inbox.is_dir():
        print(f"chargen demo: no inbox folder at {args.inbox}", file=sys.stderr)
        return 2
    if note := inbox_note(args.inbox, os.environ.get("CHARGEN_INBOX")):
        print(note, file=sys.stderr)
    _prepare_environment(args.inbox, args.dagster_home)

    # Imported after the environment is set: definitions read it.
    try:
        from chargen_assets.cast_style import cast_style
        from chargen_assets.catalog import character_catalog
        from chargen_assets.checks import images_have_dimensions, no_failed_characters
        from chargen_assets.definitions import build_defs
        from chargen_assets.partitions import CHARACTERS
        from chargen_assets.pipeline import character_pipeline
        from chargen_assets.sensors import contiguous_ranges
        from chargen_resources.characters.gallery import GALLERY_PAGE
        from chargen_resources.storage.layout import beside_results

        defs = build_defs()
    except (dg.DagsterError, ValueError) as refused:  # a setting the definitions refuse, worded
        print(f"chargen demo: {refused}", file=sys.stderr)
        return 2
    resources = defs.resources or {}
    inbox = resources["inbox"]
    scan = inbox.source().scan()
    keys = [character.key for character in scan.characters]
    # What the inbox sensor would list on its tick: an empty folder or a loose file is not
    # silently left out.
    unused = scan.not_characters()
    if not keys:
        print(
            f"chargen demo: no characters found in {args.inbox}"
            + (f" ({unused})" if unused else "")
            + ": put a folder per character in it, each with its PNG, JPEG or WEBP sketches "
            "(samples/inbox shows how), or empty ./inbox and `make demo` copies the samples in",
            file=sys.stderr,
        )
        return 2
    if unused:
        print(f"chargen demo: {args.inbox}: {unused}", file=sys.stderr)
    with dg.DagsterInstance.get() as instance:
        known = set(instance.get_dynamic_partitions(CHARACTERS))
        instance.add_dynamic_partitions(CHARACTERS, [k for k in keys if k not in known])
        # One run per contiguous range of this inbox's characters in partition order (one run
        # normally): a range must not sweep in characters other inboxes registered.
        ranges = contiguous_ranges(instance.get_dynamic_partitions(CHARACTERS), set(keys))
        print(
            f"chargen demo: {counted(len(keys), 'character')} from {args.inbox}: {', '.join(sorted(keys))}"
        )

        def materialize_range(start: str, end: str) -> dg.ExecuteInProcessResult:
            return dg.materialize(
                [character_pipeline],
                instance=instance,
                resources=resources,
                tags={
                    "dagster/asset_partition_range_start": start,
                    "dagster/asset_partition_range_end": end,
                },
                run_config=QUIET,
                raise_on_error=False,
            )

        # The cast's style guide first (an empty one without an inbox _style/ folder).
        with contextlib.redirect_stderr(_WithoutStackTraces(sys.stderr)):
            style = dg.materialize(
                [cast_style],
                instance=instance,
                resources=resources,
                run_config=QUIET,
                raise_on_error=False,
            )
        if not style.success:
            if said_no := _refusal(style):  # `_style/` as it is cannot be read: nothing ran
                print(f"chargen demo: {said_no}", file=sys.stderr)
                return 2
            print(
                f"chargen demo: {_unexpected_failure(style) or 'cast_style failed'}",
                file=sys.stderr,
            )
            return 1

        broke = None
        for start, end, _ in ranges:
            with contextlib.redirect_stderr(_WithoutStackTraces(sys.stderr)):
                result = materialize_range(start, end)
            if said_no := _refusal(result):  # a setting said no: nothing ran, nothing to sum up
                print(f"chargen demo: {said_no}", file=sys.stderr)
                return 2
            broke = broke or _unexpected_failure(result)

        catalog = dg.materialize(
            [character_pipeline, character_catalog, no_failed_characters, images_have_dimensions],
            selection=dg.AssetSelection.assets(character_catalog),
            instance=instance,
            resources=resources,
            run_config=QUIET,
            raise_on_error=False,
        )
        if not catalog.success:
            print(
                "chargen demo: building the catalog failed; see the run log above", file=sys.stderr
            )
            return 1
        storage = resources["storage"]
        table = storage.read_artifact(stage_names.CATALOG, None, pl.DataFrame)
        table = table.filter(pl.col("character").is_in(keys))
        images_at = storage.store().uri(f"{storage.prefix}/character_image")
        gallery_at = storage.store().uri(beside_results(storage.prefix, GALLERY_PAGE))
        print(_summary(table, images_at, gallery_at))
    if broke:
        print(f"chargen demo: {broke}", file=sys.stderr)
        return 1
    return 0


def _step_failures(result: dg.ExecuteInProcessResult) -> Iterator[StepFailureData]:
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE" and event.step_failure_data is not None:
            yield event.step_failure_data


def _refusal(result: dg.ExecuteInProcessResult) -> str | None:
    """chargen's words when the run refused to send anything (a cost ceiling, a budget)."""
    from chargen_assets.stopping import NOTHING_SENT

    for data in _step_failures(result):
        reported = data.user_failure_data
        if reported is not None and NOTHING_SENT in reported.metadata:
            return reported.description
    return None


def _unexpected_failure(result: dg.ExecuteInProcessResult) -> str | None:
    """A step failure that is not chargen's own per-character Failure means something broke."""
    from chargen_assets.pipeline import FAILED_CHARACTERS

    for data in _step_failures(result):
        if data.error is None:
            continue
        reported = data.user_failure_data
        if reported is not None and FAILED_CHARACTERS in reported.metadata:
            continue  # some characters failed, each reported; the platform did not
        if reported is not None and reported.description:
            return reported.description  # chargen's own words: a stage that stopped
        return f"the platform failed: {data.error.cls_name}: {data.error.message}"
    return None


if __name__ == "__main__":
    raise SystemExit(main())
