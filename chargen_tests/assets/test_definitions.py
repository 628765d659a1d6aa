import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from chargen_assets import definitions


def test_the_asset_graph_is_the_four_stages_and_what_reads_them() -> None:
    graph = definitions.defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert keys == {
        "source_image",
        "character_analysis",
        "character_prompt",
        "character_image",
        "character_catalog",
        "cast_contact_sheet",
        "cast_style",
    }
    image = graph.get(dg.AssetKey("character_image"))
    assert image.parent_keys == {dg.AssetKey("character_prompt"), dg.AssetKey("cast_style")}
    # The prompt reads character.yaml from source_image and the cast's style: the graph says so.
    prompt = graph.get(dg.AssetKey("character_prompt"))
    assert prompt.parent_keys == {
        dg.AssetKey("character_analysis"),
        dg.AssetKey("source_image"),
        dg.AssetKey("cast_style"),
    }
    assert graph.get(dg.AssetKey("cast_style")).partitions_def is None  # one for the cast
    sheet = graph.get(dg.AssetKey("cast_contact_sheet"))
    assert sheet.parent_keys == {dg.AssetKey("character_image")}
    assert graph.get(dg.AssetKey("character_prompt")).code_version is not None


def test_environment_selects_s3_and_keeps_the_key_out_of_config(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "AIza-top-secret")
    monkeypatch.setenv("CHARGEN_STORAGE", "s3://results-bucket/team/chargen")
    monkeypatch.setenv("CHARGEN_INBOX", "s3://sketch-bucket/incoming")
    monkeypatch.setenv("CHARGEN_S3_ENDPOINT_URL", "http://minio:9000")
    defs = definitions.build_defs()
    resources = defs.resources or {}
    storage, inbox, gemini = resources["storage"], resources["inbox"], resources["gemini"]
    assert (storage.backend, storage.s3_bucket, storage.prefix) == (
        "s3",
        "results-bucket",
        "team/chargen",
    )
    assert (inbox.backend, inbox.s3_bucket, inbox.s3_prefix) == ("s3", "sketch-bucket", "incoming")
    assert storage.s3.endpoint_url == inbox.s3.endpoint_url == "http://minio:9000"
    assert isinstance(gemini.api_key, dg.EnvVar)  # resolved at run time, never stored in config
    assert "top-secret" not in repr(gemini)


def test_local_folders_carry_no_s3_resource(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Dagster builds every nested resource again on each sensor tick (several ms apiece): a
    local inbox and results folder, which never use S3, carry none."""
    monkeypatch.setenv("CHARGEN_STORAGE", str(tmp_path / "results"))
    monkeypatch.setenv("CHARGEN_INBOX", str(tmp_path / "inbox"))
    monkeypatch.setenv("CHARGEN_S3_ENDPOINT_URL", "http://minio:9000")
    resources = definitions.build_defs().resources or {}
    assert resources["storage"].s3 is None and resources["inbox"].s3 is None


def test_without_a_key_there_is_none_in_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    gemini = (definitions.build_defs().resources or {})["gemini"]
    assert gemini.api_key is None


def test_production_refuses_to_load_without_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("CHARGEN_ALLOW_EMULATOR", raising=False)
    monkeypatch.setenv("CHARGEN_PROFILE", "production")
    with pytest.raises(dg.DagsterInvalidDefinitionError, match="GEMINI_API_KEY is not set"):
        definitions.build_defs()
    monkeypatch.setenv("GEMINI_API_KEY", "  ")  # an empty secret is no key
    with pytest.raises(dg.DagsterInvalidDefinitionError, match="GEMINI_API_KEY is not set"):
        definitions.build_defs()
    monkeypatch.delenv("GEMINI_API_KEY")
    monkeypatch.setenv("CHARGEN_ALLOW_EMULATOR", "true")  # asked for on purpose
    definitions.build_defs()
    monkeypatch.delenv("CHARGEN_ALLOW_EMULATOR")
    monkeypatch.setenv("GEMINI_API_KEY", "AIza-secret")
    definitions.build_defs()
    monkeypatch.setenv("CHARGEN_PROFILE", "staging")
    with pytest.raises(dg.DagsterInvalidDefinitionError, match="not a profile"):
        definitions.build_defs()


def test_a_bad_template_placeholder_stops_the_definitions_load_naming_it(tmp_path: Path) -> None:
    template = tmp_path / "character_image.txt"
    template.write_text("{name} in {style}. {notes_clause} Cloak of {colour}.\n")
    loaded = subprocess.run(
        [sys.executable, "-c", "import chargen_assets.definitions"],
        env={**os.environ, "CHARGEN_PROMPT_TEMPLATE": str(template)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert loaded.returncode != 0
    last = loaded.stderr.strip().splitlines()[-1]
    assert last.startswith("chargen_resources.characters.prompt_template.TemplateError: ")
    assert f"{template}: unknown placeholder {{colour}}" in last


def test_loading_the_definitions_does_not_import_polars() -> None:
    """A run worker loads the whole code location to make characters; polars (some 25 MB
    resident) is imported only where a table is built or read (the catalog and its checks)."""
    probe = (
        "import sys\n"
        "from chargen_assets.definitions import build_defs\n"
        "build_defs()\n"
        "assert 'polars' not in sys.modules, 'polars was imported'\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=120)


def test_the_sensor_that_pays_for_rebuilds_starts_stopped_and_the_inbox_one_running() -> None:
    from chargen_assets.sensors import inbox_sensor, rebuild_stale_characters

    assert rebuild_stale_characters.default_status == dg.DefaultSensorStatus.STOPPED
    assert inbox_sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_the_local_instance_retries_a_dead_worker_but_not_failed_characters() -> None:
    import yaml

    local = yaml.safe_load((Path(definitions.__file__).parents[1] / "dagster.yaml").read_text())
    assert local["run_monitoring"]["enabled"] and local["run_retries"]["enabled"]
    # Retrying a run some characters failed would pay for their refusals again.
    assert local["run_retries"]["retry_on_asset_or_op_failure"] is False


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "abc"])
def test_a_cost_guard_that_is_not_an_amount_is_refused_at_load(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """nan compares false with every cost: accepted, it would let every run through."""
    monkeypatch.setenv("CHARGEN_MONTHLY_BUDGET_USD", value)
    with pytest.raises(dg.DagsterInvalidConfigError, match="is not an amount of dollars"):
        definitions.build_defs()


def test_results_and_inbox_in_one_place_are_refused_at_load(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Results inside the inbox would be listed as a character and paid for on every run."""
    monkeypatch.setenv("CHARGEN_INBOX", str(tmp_path / "inbox"))
    monkeypatch.setenv("CHARGEN_STORAGE", str(tmp_path / "inbox"))
    with pytest.raises(dg.DagsterInvalidDefinitionError, match="overlap"):
        definitions.build_defs()
    monkeypatch.setenv("CHARGEN_INBOX", "s3://studio")
    monkeypatch.setenv("CHARGEN_STORAGE", "s3://studio/results")
    with pytest.raises(dg.DagsterInvalidDefinitionError, match="CHARGEN_STORAGE and CHARGEN_INBOX"):
        definitions.build_defs()
