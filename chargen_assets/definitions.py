"""The one Dagster entry point: `defs`.

Configuration comes from the environment so the same code runs on a laptop and in production:
- GEMINI_API_KEY: talk to Google; unset, chargen starts its embedded Gemini emulator.
- CHARGEN_INBOX: a folder (default ./inbox) or s3://bucket/prefix of reference sketches.
- CHARGEN_STORAGE: a folder (default ./.chargen/storage) or s3://bucket/prefix for results.
- CHARGEN_EMULATOR_STATE: the emulator's state folder (default ./.chargen/emulator).
- GEMINI_BASE_URL: send requests elsewhere (a proxy, or an emulator started by hand).
- CHARGEN_PROFILE: local (default) or production (GEMINI_API_KEY required, no emulator).
- CHARGEN_MAX_RUN_COST_USD: refuse any run whose estimated cost is above this.
- CHARGEN_MONTHLY_BUDGET_USD: a budget per month shared by every run.
"""

from __future__ import annotations

import os

import dagster as dg
from dagster_aws.s3 import S3Resource

from chargen_assets.cast_style import cast_style
from chargen_assets.catalog import character_catalog
from chargen_assets.checks import images_have_dimensions, no_failed_characters
from chargen_assets.contact_sheet import cast_contact_sheet
from chargen_assets.executor import streaming_in_process_executor
from chargen_assets.pipeline import character_pipeline
from chargen_assets.resources import GeminiBatchResource, InboxResource
from chargen_assets.sensors import inbox_sensor, rebuild_stale_characters
from chargen_assets.storage import ChargenIOManager, ChargenStorage
from chargen_resources.gemini.budget import BUDGET_VARIABLE, CEILING_VARIABLE, dollars_from_env
from chargen_resources.malloc_arenas import limit_malloc_arenas
from chargen_resources.storage.locations import (
    DEFAULT_PREFIX,
    inbox_location,
    overlap_problem,
    storage_location,
)

# Before any worker thread starts: a run worker, code server or sensor tick loads this first.
limit_malloc_arenas()


def _s3_from_env() -> S3Resource:
    return S3Resource(endpoint_url=os.environ.get("CHARGEN_S3_ENDPOINT_URL") or None)


def storage_from_env() -> ChargenStorage:
    where = storage_location()
    if where.bucket is not None:
        return ChargenStorage(
            backend="s3",
            s3_bucket=where.bucket,
            prefix=where.path or DEFAULT_PREFIX,
            s3=_s3_from_env(),
        )
    return ChargenStorage(backend="local", local_root=where.path)


def inbox_from_env() -> InboxResource:
    where = inbox_location()
    if where.bucket is not None:
        return InboxResource(
            backend="s3", s3_bucket=where.bucket, s3_prefix=where.path, s3=_s3_from_env()
        )
    return InboxResource(backend="local", local_root=where.path)


PROFILES = ("local", "production")


def key_given() -> bool:
    """GEMINI_API_KEY holds something (blank, as a template's empty secret leaves it, is unset)."""
    return bool(os.environ.get("GEMINI_API_KEY", "").strip())


def check_profile() -> None:
    """In production a missing key is an error, never a quiet switch to the emulator."""
    profile = os.environ.get("CHARGEN_PROFILE", "local")
    if profile not in PROFILES:
        raise dg.DagsterInvalidDefinitionError(
            f"CHARGEN_PROFILE={profile!r} is not a profile; use 'local' (the default: without a "
            "key, the emulator) or 'production' (a key is required)"
        )
    asked = os.environ.get("CHARGEN_ALLOW_EMULATOR", "").lower() in ("1", "true", "yes")
    if profile == "production" and not key_given() and not asked:
        raise dg.DagsterInvalidDefinitionError(
            "CHARGEN_PROFILE=production but GEMINI_API_KEY is not set: give the code location "
            "the GEMINI_API_KEY secret (your Gemini API key). chargen will not fall back to its "
            "emulator in production; set CHARGEN_ALLOW_EMULATOR=true to use it on purpose"
        )


def gemini_from_env() -> GeminiBatchResource:
    check_profile()
    # EnvVar keeps the key out of run config and the UI; only reference it when it is set.
    api_key = dg.EnvVar("GEMINI_API_KEY") if key_given() else None
    quick = os.environ.get("CHARGEN_POLL_SECONDS")
    return GeminiBatchResource(
        api_key=api_key,
        base_url=os.environ.get("GEMINI_BASE_URL") or None,
        emulator_state_dir=os.environ.get("CHARGEN_EMULATOR_STATE", ".chargen/emulator"),
        poll_interval_seconds=float(quick) if quick else 5.0,
        max_run_cost_usd=_dollars(CEILING_VARIABLE),
        monthly_budget_usd=_dollars(BUDGET_VARIABLE),
    )


def _dollars(variable: str) -> float | None:
    try:
        return dollars_from_env(variable)
    except ValueError as error:
        raise dg.DagsterInvalidConfigError(str(error), [], None) from None


def build_defs() -> dg.Definitions:
    if problem := overlap_problem(storage_location(), inbox_location()):
        raise dg.DagsterInvalidDefinitionError(problem[:1].upper() + problem[1:])
    storage = storage_from_env()
    return dg.Definitions(
        assets=[cast_style, character_pipeline, character_catalog, cast_contact_sheet],
        asset_checks=[no_failed_characters, images_have_dimensions],
        sensors=[
            inbox_sensor,
            rebuild_stale_characters,
            dg.AutomationConditionSensorDefinition(
                "catalog_automation",
                target=[character_catalog, cast_contact_sheet],
                default_status=dg.DefaultSensorStatus.RUNNING,
            ),
        ],
        # One process per run: a run killed with kill -9 takes its step with it (no orphaned
        # step process goes on holding claims), and its retry finds the claims' owner dead.
        # In-process, without Dagster's copy of every event of the step (see executor.py).
        executor=streaming_in_process_executor,
        resources={
            "gemini": gemini_from_env(),
            "storage": storage,
            "inbox": inbox_from_env(),
            "io_manager": ChargenIOManager(storage=storage),
        },
    )


defs = build_defs()
