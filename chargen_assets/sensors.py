"""Sensors: pick up new inbox content, and rebuild characters a code change made stale."""

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import dagster as dg
from dagster._core.storage.tags import RUN_KEY_TAG

from chargen_assets import cast_style, character_prompt
from chargen_assets.partitions import CHARACTERS, characters
from chargen_assets.pipeline import NEVER_MADE, run_has_ended
from chargen_assets.provenance import latest_data_version
from chargen_assets.resources import GeminiBatchResource, InboxResource
from chargen_assets.stages import CODE_FINGERPRINT, CODE_VERSIONS, PIPELINE_KEYS
from chargen_assets.storage import ChargenStorage
from chargen_resources.characters.artifacts import NO_STYLE, DeadLetter
from chargen_resources.gc_pause import cycle_collection_paused
from chargen_resources.gemini.ledger import Ledger
from chargen_resources.inbox.sensor_plan import TickPlan, plan_tick
from chargen_resources.inbox.sources import (
    InboxCharacter,
    InboxScan,
    InboxSource,
)
from chargen_resources.inbox.style_spec import STYLE_FOLDER
from chargen_resources.pipeline.errors import in_words
from chargen_resources.pipeline.estimate import estimate
from chargen_resources.pipeline.sent_inputs import sent_inputs_hash
from chargen_resources.words import counted, shortened


def _whole_number(variable: str, default: int, meaning: str) -> int:
    """A setting from the environment, at least 1; a wrong one names itself and the fix."""
    given = os.environ.get(variable, str(default))
    try:
        value = int(given)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(
            f"{variable} is {given!r}: it is {meaning}, so it must be a whole number of 1 or "
            f"more (default {default})."
        )
    return value


# Tests and impatient users shorten this with CHARGEN_SENSOR_INTERVAL_SECONDS.
INBOX_INTERVAL_SECONDS = _whole_number(
    "CHARGEN_SENSOR_INTERVAL_SECONDS", 30, "how many seconds the inbox sensor waits between ticks"
)
# Characters in one run a sensor launches. Dagster records a planned materialization per
# character and stage when it creates a run, in the daemon, before the run can start: about
# 85-90 ms per character on Postgres here (README "Scale"), and for each check a row per
# character holding the run's whole list of characters (quadratic), so a run of 10,000 would
# hold the daemon for a quarter of an hour, and start nothing until then. A run of 1,000 starts
# after a minute and a half, the next ones while the first works (each one batch job a stage).
MAX_CHARACTERS_PER_RUN = _whole_number(
    "CHARGEN_MAX_CHARACTERS_PER_RUN", 1000, "the most characters one run a sensor launches may take"
)
# Runs a sensor launches are not interactive: even one character waits for batch prices.
UNATTENDED_RUN_CONFIG = {"ops": {"character_pipeline": {"config": {"mode": "batch"}}}}
RANGE_START = "dagster/asset_partition_range_start"
ESTIMATE_TAG = "chargen/estimate"
RANGE_END = "dagster/asset_partition_range_end"


def contiguous_ranges(
    ordered: Sequence[str], wanted: set[str], most: int | None = None
) -> list[tuple[str, str, list[str]]]:
    """Split `wanted` into runs of neighbours in partition order (one run, one batch job each).
    With `most`, the partitions are cut into fixed blocks of that many by position, and no
    range crosses a block's edge: a change in one block never moves the ranges of another
    (whose runs, and run keys, stay the ones already asked for)."""
    ranges: list[tuple[str, str, list[str]]] = []
    current: list[str] = []
    block = None
    for position, key in enumerate(ordered):
        this_block = position // most if most else 0
        if current and (key not in wanted or this_block != block):
            ranges.append((current[0], current[-1], current))
            current = []
        if key in wanted:
            current.append(key)
            block = this_block
    if current:
        ranges.append((current[0], current[-1], current))
    return ranges


def range_run_requests(
    ordered: Sequence[str],
    wanted: set[str],
    assets: Sequence[dg.AssetKey],
    run_key_prefix: str,
    fingerprint: Callable[[list[str]], str],
    extra_tags: Callable[[list[str]], dict[str, str]] = lambda keys: {},
) -> list[dg.RunRequest]:
    """One run request per range; its run key is made from its own characters and
    `fingerprint` of them only, so a change elsewhere never gives it a new key (which would
    launch it again while it may still be running)."""
    requests = []
    for start, end, keys in contiguous_ranges(ordered, wanted, MAX_CHARACTERS_PER_RUN):
        made_from = f"{fingerprint(keys)}\n{','.join(keys)}"
        digest = hashlib.sha256(made_from.encode()).hexdigest()[:16]
        requests.append(
            dg.RunRequest(
                run_key=f"{run_key_prefix}@{digest}",
                asset_selection=list(assets),
                run_config=UNATTENDED_RUN_CONFIG,
                tags={
                    RANGE_START: start,
                    RANGE_END: end,
                    "chargen/characters": str(len(keys)),
                    **extra_tags(keys),
                },
            )
        )
    return requests


@dataclass(frozen=True, slots=True)
class _Planned:
    """What the last full tick saw: the next tick over that same scan (a local inbox returns the
    very object while nothing in it changed), once Dagster stored the cursor it left (so the
    runs it asked for were launched) and added its partitions, has nothing to plan; a tick over
    10,000 unchanged characters does not decode and compare them all again."""

    scan: InboxScan
    cursor: str
    characters: frozenset[str]
    # cast_style was made from this scan's `_style/` folder. It stays so while the inbox does
    # not change: cast_style can only be made again from that same folder (only wiping its
    # materializations by hand goes unseen until the inbox next changes).
    style_settled: bool
    # Each quiet tick reads one page of the partitions, to notice one deleted by hand: where
    # the next page starts (None: at the first), and the characters no page of this round held.
    partitions_after: str | None
    unseen: frozenset[str]


_QUIET: list[_Planned] = []
# Reading all 10,000 partition keys was a fifth of a quiet tick. A page a tick: a cast up to
# this size is checked whole every tick; 10,000 characters over ten ticks, so a partition
# deleted by hand is added back within two rounds (ten minutes at 30 s a tick).
PARTITIONS_PER_QUIET_TICK = 1000


@dg.sensor(
    name="inbox_sensor",
    minimum_interval_seconds=INBOX_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    # The characters, and the cast's style guide when `_style/` is new or changed.
    asset_selection=[cast_style.KEY, *PIPELINE_KEYS],
    description="Adds a partition per new inbox character and runs new or changed ones.",
)
def inbox_sensor(
    context: dg.SensorEvaluationContext, inbox: InboxResource, storage: ChargenStorage
) -> dg.SensorResult:
    with cycle_collection_paused():  # a tick over 10,000 characters: a third of it otherwise
        return _inbox_tick(context, inbox, storage)


def _with_unused(reason: str, scan: InboxScan) -> str:
    """A tick's skip reason, with what at the inbox root is not a character (seen in the tick
    history at a glance: an empty folder or a loose .psd is not silently ignored)."""
    unused = scan.not_characters()
    return f"{reason}; {unused}" if unused else reason


def _quiet_tick(context: dg.SensorEvaluationContext, scan: InboxScan) -> dg.SensorResult | None:
    """The skip of a tick with nothing to plan, or None when it must plan: the inbox is the
    very scan the last planned tick saw, the cursor the one it left, its style guide read, and
    no partition deleted by hand since (a page of the partitions read per tick)."""
    quiet = _QUIET[0] if _QUIET else None
    if (
        quiet is None
        or quiet.scan is not scan  # the remembered scan itself: nothing in the inbox changed
        or quiet.cursor != context.cursor  # Dagster stored it: the runs were launched
        or not quiet.style_settled
    ):
        return None
    page = context.instance.get_paginated_dynamic_partitions(
        CHARACTERS,
        limit=PARTITIONS_PER_QUIET_TICK,
        ascending=True,
        cursor=quiet.partitions_after,
    )
    unseen = quiet.unseen.difference(page.results)
    if page.has_more:
        _QUIET[:] = [replace(quiet, partitions_after=page.cursor, unseen=unseen)]
    elif unseen:  # a round over every partition, and one character's is gone: plan, add it
        return None
    else:
        _QUIET[:] = [replace(quiet, partitions_after=None, unseen=quiet.characters)]
    return dg.SensorResult(
        skip_reason=_with_unused(
            f"{counted(len(quiet.characters), 'character')}, none new or changed", scan
        ),
        cursor=context.cursor,
    )


def _inbox_tick(
    context: dg.SensorEvaluationContext, inbox: InboxResource, storage: ChargenStorage
) -> dg.SensorResult:
    scan = inbox.source().scan(remember=True)
    if (quiet := _quiet_tick(context, scan)) is not None:
        return quiet
    partitions = context.instance.get_dynamic_partitions(CHARACTERS)
    known = set(partitions)
    style_changed = _style_changed(context.instance, scan.style.fingerprint if scan.style else None)
    listed = list(scan.characters)
    plan = plan_tick(listed, context.cursor, known)
    keys = frozenset(character.key for character in listed)
    _QUIET[:] = [
        _Planned(
            scan,
            plan.cursor,
            keys,
            style_settled=style_changed is None,
            partitions_after=None,
            unseen=keys,
        )
    ]
    asked = {r.partition_key for r in plan.requests}
    held = refused_unchanged(storage, inbox.source(), [c for c in listed if c.key in asked])
    for character, reason in sorted(held.items()):
        context.log.info(
            f"{character}: not sent again: it failed for its content ({reason}) and neither its "
            "files nor chargen's code changed since; edit its sketches or character.yaml, or "
            "materialize it by hand to try anyway"
        )
    requests = [r for r in plan.requests if r.partition_key not in held]
    if style_changed:
        return _style_first(context, style_changed, [r.partition_key for r in requests], plan)
    if not requests and not plan.new_partitions:
        return dg.SensorResult(
            skip_reason=_with_unused(
                f"{counted(plan.unchanged, 'character')}, none new or changed"
                + (f" ({len(held)} held back after a content failure)" if held else ""),
                scan,
            ),
            cursor=plan.cursor,
        )
    # New partitions are appended after the known ones, in this order, before runs resolve.
    ordered = [*partitions, *plan.new_partitions]
    # Each character's request is keyed by its content: a range's key changes with its own.
    request_keys = {request.partition_key: request.run_key or "" for request in requests}
    runs = range_run_requests(
        ordered,
        {request.partition_key for request in requests},
        PIPELINE_KEYS,
        "inbox",
        lambda keys: "\n".join(request_keys[key] for key in keys),
    )
    context.log.info(
        f"{len(plan.new_partitions)} new, {len(requests)} to run in {len(runs)} run(s), "
        f"{plan.unchanged} unchanged, {len(held)} held back"
    )
    if unused := scan.not_characters():
        context.log.warning(f"inbox: {unused}")
    return dg.SensorResult(
        run_requests=runs,
        dynamic_partitions_requests=add_requests(plan.new_partitions),
        cursor=plan.cursor,
    )


# Dagster looks new keys up with one SQL variable each: SQLite refuses more than 32,766 in one
# statement (benchmarks/scale.py), so a first tick over a huge inbox adds them in batches.
PARTITIONS_PER_ADD = 10_000


def _style_first(
    context: dg.SensorEvaluationContext, style_changed: str, waiting: list[str], plan: TickPlan
) -> dg.SensorResult:
    """A changed `_style/` is read in a run of its own before any prompt is made from it. The
    new and changed characters wait: the cursor stays where it was, so a later tick asks for
    them again once the guide is read, and one that cannot be read strands none of them. The
    characters it makes stale are rebuilt by rebuild_stale_characters (it pays for every
    image), not behind the user's back."""
    style_run = dg.RunRequest(run_key=f"style@{style_changed}", asset_selection=[cast_style.KEY])
    cursor = context.cursor if waiting else plan.cursor
    wait = (
        f"; {counted(len(waiting), 'new or changed character')} wait for it "
        f"({shortened(sorted(waiting), 10)})"
        if waiting
        else ""
    )
    partitions = add_requests(plan.new_partitions)
    if failed := _failed_run(context.instance, style_run.run_key):
        # Dagster would skip the same run key: say why nothing happens, once a tick.
        return dg.SensorResult(
            skip_reason=(
                f"{STYLE_FOLDER}/ as it is now could not be read (run {failed[:8]} failed; "
                f"its reason is in that run): fix it, and the next tick reads it again{wait}"
            ),
            dynamic_partitions_requests=partitions,
            cursor=cursor,
        )
    context.log.info(f"{STYLE_FOLDER}/ changed: reading the cast's style guide first{wait}")
    return dg.SensorResult(
        run_requests=[style_run], dynamic_partitions_requests=partitions, cursor=cursor
    )


def add_requests(new: list[str]) -> list[dg.AddDynamicPartitionsRequest]:
    return [
        characters.build_add_request(new[start : start + PARTITIONS_PER_ADD])
        for start in range(0, len(new), PARTITIONS_PER_ADD)
    ]


def _style_changed(instance: dg.DagsterInstance, fingerprint: str | None) -> str | None:
    """The `_style/` folder's fingerprint when cast_style was not made from it (None when it
    was, or when there is no folder and never was a style)."""
    event = instance.get_latest_materialization_event(cast_style.KEY)
    made = event.asset_materialization if event is not None else None
    made_from = (made.tags or {}).get(cast_style.INBOX_FINGERPRINT_TAG) if made else None
    now = fingerprint or cast_style.NO_FOLDER
    if made_from == now or (made_from is None and fingerprint is None):
        return None
    return now


def _failed_run(instance: dg.DagsterInstance, run_key: str | None) -> str | None:
    """The id of the run this sensor launched under `run_key`, when it failed."""
    runs = instance.get_runs(filters=dg.RunsFilter(tags={RUN_KEY_TAG: run_key or ""}), limit=1)
    failed = runs and runs[0].status == dg.DagsterRunStatus.FAILURE
    return runs[0].run_id if failed else None


def refused_unchanged(
    storage: ChargenStorage, source: InboxSource, candidates: Sequence[InboxCharacter]
) -> dict[str, str]:
    """Candidates whose last failure was their content's, with nothing changed since: sending
    them again would pay to fail again. One listing of the dead letters, then only theirs; a
    character whose files' times moved (a copy, a sync, a touch) has its bytes compared."""
    if not candidates:
        return {}
    by_key = {character.key: character for character in candidates}
    held: dict[str, str] = {}
    for key, assets in storage.dead_lettered().items():
        character = by_key.get(key)
        if character is None:
            continue
        for stage in sorted(assets):
            dead = storage.read_dead_letter(stage, key, DeadLetter)
            if dead is None or not dead.content or dead.code != CODE_FINGERPRINT:
                continue
            if dead.inputs == character.fingerprint or (
                dead.inputs_content is not None
                and dead.inputs_content == sent_inputs_hash(source, character, dead.stage)
            ):
                held[key] = dead.reason
                break
    return held


def stale_partitions(instance: dg.DagsterInstance, keys: Sequence[str]) -> dict[str, dg.AssetKey]:
    """Characters whose stored result was made by older code, or whose prompt by an older cast
    style guide, with the first asset affected."""
    stale: dict[str, dg.AssetKey] = {}
    style_now = latest_data_version(instance, cast_style.KEY, None) or NO_STYLE
    style_tag = f"dagster/input_data_version/{cast_style.KEY.to_user_string()}"
    for asset in PIPELINE_KEYS:
        current = CODE_VERSIONS[asset]
        for key in keys:
            if key in stale:
                continue
            record = instance.get_latest_data_version_record(asset, partition_key=key)
            event = record.asset_event if record is not None else None
            if event is None:
                continue
            tags = event.tags or {}
            version = tags.get("dagster/code_version")
            if version is not None and version != current:
                stale[key] = asset
            elif asset == character_prompt.spec.key:
                made_with = tags.get(style_tag, NO_STYLE)
                if made_with in (NEVER_MADE, "unknown"):  # made before cast_style was
                    made_with = NO_STYLE
                if made_with != style_now:
                    stale[key] = asset
    return stale


@dg.sensor(
    name="rebuild_stale_characters",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    asset_selection=PIPELINE_KEYS,
    description=(
        "Start it after changing the prompt template (or any stage's code version): it re-runs "
        "exactly the characters made with older code, from the first stale stage on, in one run "
        f"per contiguous range of at most {MAX_CHARACTERS_PER_RUN:,} "
        "(CHARGEN_MAX_CHARACTERS_PER_RUN; one batch job per stage). It pays for images: it "
        "starts stopped."
    ),
)
def rebuild_stale_characters(
    context: dg.SensorEvaluationContext,
    gemini: GeminiBatchResource,
    storage: ChargenStorage,
    inbox: InboxResource,
) -> dg.SensorResult:
    ordered = context.instance.get_dynamic_partitions(CHARACTERS)
    stale = stale_partitions(context.instance, ordered)
    if not stale:
        return dg.SensorResult(skip_reason="every character was made with the current code")
    # A character whose folder is gone could only fail its run (and turn from done to failed):
    # it is named, not rebuilt.
    try:
        in_inbox = {character.key for character in inbox.source().scan().characters}
    except Exception as error:  # told in words on the tick, as the estimate below is
        return dg.SensorResult(
            skip_reason=f"{counted(len(stale), 'stale character')} wait for the inbox to be "
            f"listed: {in_words(error)}"
        )
    if gone := sorted(key for key in stale if key not in in_inbox):
        context.log.info(
            f"{counted(len(gone), 'stale character')} no longer in the inbox, not rebuilt "
            f"(put the folder back to rebuild it): {shortened(gone)}"
        )
        stale = {key: asset for key, asset in stale.items() if key in in_inbox}
        if not stale:
            return dg.SensorResult(
                skip_reason=f"the stale characters' folders are gone from the inbox: "
                f"{shortened(gone)}"
            )
    first = min(PIPELINE_KEYS.index(asset) for asset in stale.values())
    # What the rebuild is towards: the code and the cast's style guide of now (a later style
    # change over the same characters is a new rebuild, not the earlier run's key again).
    style_now = latest_data_version(context.instance, cast_style.KEY, None) or NO_STYLE
    versions = ",".join(f"{k.to_user_string()}={v}" for k, v in CODE_VERSIONS.items())
    versions += f",{cast_style.KEY.to_user_string()}={style_now}"
    selected = [key.to_user_string() for key in PIPELINE_KEYS[first:]]

    def price(keys: list[str]) -> dict[str, str]:
        """The run's estimate at batch prices, on the run request (seen in the preview). One
        that cannot be made (the store or the style guide unreadable) says why there; the run
        itself stops on the same cause, in words, before it sends anything."""
        try:
            priced = estimate(
                keys,
                inbox=inbox.source(),
                store=storage.store(),
                prefix=storage.prefix,
                ledger=Ledger(storage.store(), storage.prefix),
                analysis_model=gemini.analysis_model,
                image_model=gemini.image_model,
                answering=gemini.backend(),
                template=character_prompt.TEMPLATE,
                stages=selected,
                run_over=run_has_ended(context.instance),
            )
        except Exception as error:
            told = in_words(error)
            context.log.warning(
                f"the rebuild of {counted(len(keys), 'character')} was not estimated: {told}"
            )
            return {ESTIMATE_TAG: f"not estimated: {told}"}
        return {ESTIMATE_TAG: f"${priced.cost(False):.2f}: {priced.summary(False)}"}

    runs = range_run_requests(
        ordered, set(stale), PIPELINE_KEYS[first:], "stale", lambda keys: versions, extra_tags=price
    )
    context.log.info(
        f"{counted(len(stale), 'stale character')} in {counted(len(runs), 'run')}; "
        + "; ".join(run.tags[ESTIMATE_TAG] for run in runs)
    )
    return dg.SensorResult(run_requests=runs)
