from pathlib import Path

import dagster as dg
import pytest
from PIL import Image

from chargen_assets.resources import GeminiBatchResource, InboxResource
from chargen_resources.characters.artifacts import Backend
from chargen_resources.emulator import RunningEmulator
from chargen_resources.gemini.connection import ConnectionSettings


def test_local_inbox_resource_lists_characters(tmp_path: Path) -> None:
    (tmp_path / "ash").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "ash" / "a.png")
    inbox = InboxResource(local_root=str(tmp_path))
    assert [c.key for c in inbox.source().list_characters()] == ["ash"]


def test_s3_inbox_without_a_bucket_says_what_to_set() -> None:
    with pytest.raises(dg.Failure, match="s3_bucket"):
        InboxResource(backend="s3").source()


def test_gemini_resource_connects_once_and_builds_runners(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    resource = GeminiBatchResource(base_url=emulator.base_url, emulator_state_dir=str(tmp_path))
    first = resource.connection()
    assert resource.connection() is first and first.backend == "emulator"  # recognised
    assert first.client.models.generate_content(model="gemini-2.5-flash", contents="hi").text


def test_a_cost_guard_given_as_config_must_be_an_amount() -> None:
    import pydantic

    for value in (float("nan"), float("inf"), -1.0):
        with pytest.raises(pydantic.ValidationError, match="not an amount of dollars"):
            GeminiBatchResource(monthly_budget_usd=value)
        with pytest.raises(pydantic.ValidationError, match="not an amount of dollars"):
            GeminiBatchResource(max_run_cost_usd=value)
    assert GeminiBatchResource(max_run_cost_usd=0.0).max_run_cost_usd == 0.0


def test_who_answers_is_asked_of_a_base_url_once(
    emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sensor prices several runs a tick, and a run asks at its estimate and its stages: the
    round trip to a `base_url` that tells an emulator from a proxy is made once per resource."""
    from chargen_assets import resources

    asked: list[str] = []
    ask = resources.backend_of

    def counted(settings: ConnectionSettings) -> Backend:
        asked.append(settings.base_url or "")
        return ask(settings)

    monkeypatch.setattr(resources, "backend_of", counted)
    gemini = GeminiBatchResource(base_url=emulator.base_url)
    assert gemini.backend() == "emulator" and gemini.backend() == "emulator"
    assert gemini.connection().backend == "emulator"
    assert asked == [emulator.base_url]
