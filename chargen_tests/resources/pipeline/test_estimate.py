"""The estimate: what a run would send and pay, against what the run then pays."""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from chargen_assets.pipeline import character_pipeline
from chargen_assets.resources import GeminiBatchResource, InboxResource
from chargen_assets.storage import ChargenStorage
from chargen_resources.characters.artifacts import AnalysisRecord, GeneratedImage
from chargen_resources.characters.prompt_template import load_template
from chargen_resources.emulator import RunningEmulator
from chargen_resources.gemini.ledger import Ledger
from chargen_resources.inbox.sources import LocalInbox
from chargen_resources.pipeline.estimate import Estimate, estimate
from chargen_resources.storage.blob_store import LocalBlobStore

REPO = Path(__file__).resolve().parents[3]
SAMPLES = REPO / "samples" / "inbox"


def _billing(emulator: RunningEmulator) -> dict[str, object]:
    with urllib.request.urlopen(f"{emulator.base_url}/emulator/billing", timeout=10) as answer:
        billing: dict[str, object] = json.loads(answer.read())
        return billing


def _estimate(
    inbox: Path, storage: Path, keys: list[str] | None = None, **options: Any
) -> Estimate:
    """The estimate over `keys` (every character in the inbox by default)."""
    store = LocalBlobStore(storage)
    source = LocalInbox(inbox)
    return estimate(
        keys if keys is not None else [c.key for c in source.list_characters()],
        inbox=source,
        store=store,
        prefix="chargen",
        ledger=Ledger(store, "chargen"),
        analysis_model="gemini-2.5-flash",
        image_model="gemini-3-pro-image-preview",
        template=load_template(),
        **{"answering": "emulator", **options},
    )


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    target = tmp_path / "inbox"
    shutil.copytree(SAMPLES, target)
    return target


def test_an_estimate_sends_nothing_writes_nothing_and_is_what_the_run_pays(
    inbox: Path, tmp_path: Path, emulator: RunningEmulator
) -> None:
    storage = tmp_path / "storage"
    before = _estimate(inbox, storage)
    assert not storage.exists()  # nothing written
    assert _billing(emulator)["paid"] == 0  # nothing sent
    analysis, image = before.stages
    assert (analysis.send, image.send) == (10, 10) and before.characters == 10

    resources = {
        "gemini": GeminiBatchResource(base_url=emulator.base_url, poll_interval_seconds=0.01),
        "storage": ChargenStorage(local_root=str(storage)),
        "inbox": InboxResource(local_root=str(inbox)),
    }
    with dg.DagsterInstance.ephemeral() as instance:
        keys = [c.key for c in LocalInbox(inbox).list_characters()]
        instance.add_dynamic_partitions("characters", keys)
        dg.materialize(
            [character_pipeline],
            instance=instance,
            resources=resources,
            tags={
                "dagster/asset_partition_range_start": keys[0],
                "dagster/asset_partition_range_end": keys[-1],
            },
            raise_on_error=False,
        )
    store = ChargenStorage(local_root=str(storage))
    paid = sum(
        record.estimated_cost_usd or 0.0
        for record in store.read_artifacts("character_analysis", keys, AnalysisRecord).values()
    )
    images = store.read_artifacts("character_image", keys, GeneratedImage, missing_ok=True)
    paid += sum(record.estimated_cost_usd or 0.0 for record in images.values())
    # The estimate prices every image as made; one of the ten samples is refused by the safety
    # filter (billed for its prompt only), so the run pays a little less, never more.
    assert 0.85 * before.cost(False) <= paid <= before.cost(False)

    after = _estimate(inbox, storage)
    analysis, image = after.stages
    assert (analysis.send, analysis.kept) == (0, 10)
    assert (image.send, image.kept) == (1, 9)  # the safety-blocked one would be sent again

    # With a key set, the emulator's drawings stand for nothing: all of it would be paid again.
    real = _estimate(inbox, storage, answering="google")
    analysis, image = real.stages
    assert (analysis.send, analysis.kept) == (10, 0) and (image.send, image.kept) == (10, 0)
    assert real.cost(False) == before.cost(False)


def test_requests_to_a_model_with_no_recorded_price_are_never_counted_as_free() -> None:
    from chargen_resources.pipeline.estimate import StageEstimate

    analysis = StageEstimate(stage="character_analysis", model="gemini-2.5-flash")
    analysis.add("ash", "gemini-2.5-flash", 1000, 400, 200)
    image = StageEstimate(stage="character_image", model="gemini-9")
    image.add("ash", "gemini-9", 1000, 1120, 150)
    priced = Estimate(characters=1, stages=[analysis, image])
    assert image.unpriced == 1 and image.batch_usd == 0
    assert priced.cost(False) == analysis.batch_usd > 0  # what is known, and no more
    assert priced.unpriced_models() == {"gemini-9": 1}
    assert "no list price is recorded for gemini-9 (1 request)" in priced.summary(False)
    table = priced.table()
    assert "0.00+?" in table  # the image row: not free, unknown
    assert f"{analysis.batch_usd:.3f}+?" in table.splitlines()[3]  # the total: at least this
    assert Estimate(characters=1, stages=[analysis]).unpriced_note() is None


def test_a_character_whose_image_could_never_be_asked_for_is_not_priced(
    inbox: Path, tmp_path: Path
) -> None:
    from PIL import Image

    from chargen_resources.gemini.models import max_reference_images

    too_many = max_reference_images("gemini-3-pro-image-preview") + 1
    (inbox / "crowd").mkdir()
    for n in range(too_many):
        Image.new("RGB", (64, 64), (n, 80, 120)).save(inbox / "crowd" / f"v{n:02d}.png")
    priced = _estimate(inbox, tmp_path / "storage")
    assert f"{too_many} reference sketches" in priced.unreadable["crowd"]
    assert all("crowd" not in stage.sending for stage in priced.stages)
    assert "not sent: crowd: " in priced.table()
    assert "character 'crowd'" not in priced.table()  # named once, at the line's start


def _made_alone(inbox: Path, tmp_path: Path, emulator: RunningEmulator, **config: object) -> Path:
    """crimson-knight alone, made end to end; the storage it was stored in."""
    _keep_only(inbox, "crimson-knight")
    storage = tmp_path / "storage"
    _materialize(inbox, storage, emulator, **config)
    return storage


def _add_to_sheet(inbox: Path, line: str) -> None:
    """A line added to crimson-knight's character.yaml."""
    sheet = inbox / "crimson-knight" / "character.yaml"
    sheet.write_text(f"{sheet.read_text()}\n{line}\n")


def _keep_only(inbox: Path, character: str) -> None:
    for other in inbox.iterdir():
        if other.name != character:
            shutil.rmtree(other) if other.is_dir() else other.unlink()


def _materialize(inbox: Path, storage: Path, emulator: RunningEmulator, **config: object) -> None:
    resources = {
        "gemini": GeminiBatchResource(base_url=emulator.base_url, poll_interval_seconds=0.01),
        "storage": ChargenStorage(local_root=str(storage)),
        "inbox": InboxResource(local_root=str(inbox)),
    }
    keys = [c.key for c in LocalInbox(inbox).list_characters()]
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("characters", keys)
        dg.materialize(
            [character_pipeline],
            instance=instance,
            resources=resources,
            run_config={"ops": {"character_pipeline": {"config": config}}} if config else None,
            tags={
                "dagster/asset_partition_range_start": keys[0],
                "dagster/asset_partition_range_end": keys[-1],
            },
            raise_on_error=False,
        )


def _image_job_left_running(
    inbox: Path,
    tmp_path: Path,
    emulator: RunningEmulator,
    monkeypatch: pytest.MonkeyPatch,
    **config: object,
) -> Path:
    """A run over crimson-knight that stopped while its image request was being answered (its
    job live, or its interactive call); its storage."""
    from chargen_resources.gemini.batch_jobs import BatchJobRunner, Carriage, FinishedJob

    _keep_only(inbox, "crimson-knight")
    original = BatchJobRunner.wait

    def stopped_while_images_are_made(
        self: BatchJobRunner, carriage: Carriage
    ) -> list[FinishedJob]:
        if carriage.stage == "character_image":  # the run's worker died here: job still live
            raise RuntimeError("the run stopped here")
        return original(self, carriage)

    monkeypatch.setattr(BatchJobRunner, "wait", stopped_while_images_are_made)
    storage = tmp_path / "storage"
    _materialize(inbox, storage, emulator, **config)  # fails, its image job left running
    monkeypatch.undo()
    return storage


def test_an_image_request_another_run_is_carrying_is_in_flight_not_sent(
    inbox: Path, tmp_path: Path, emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The estimate names a request as the run fingerprints it (its sketches included), so a
    job still carrying it is found: not priced again, not reserved against the budget."""
    storage = _image_job_left_running(inbox, tmp_path, emulator, monkeypatch)
    _, image = _estimate(inbox, storage).stages
    assert (image.send, image.in_flight) == (0, 1)


def test_a_claim_whose_run_dagster_ended_before_its_job_existed_is_priced_as_paid(
    inbox: Path, tmp_path: Path, emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pod that died between claiming and recording its job left a claim that is another
    host's: once Dagster has ended that run, the run recovers the claim and pays (no job to
    find), so the estimate prices it; without Dagster's word it is in flight for its lease."""
    storage = _image_job_left_running(inbox, tmp_path, emulator, monkeypatch, mode="batch")
    ledger = storage / "chargen" / "_ledger"
    for job in ledger.glob("jobs/*.json"):
        if json.loads(job.read_text())["stage"] == "character_image":
            job.unlink()  # never recorded: the pod died before
    claimed_by = set()
    for path in ledger.glob("claims/character_image/**/*.json"):
        record = json.loads(path.read_text())
        record["claimant"]["host"] = "chargen-run-5d1c-x7k2q"  # the pod's, not this host
        claimed_by.add(record["claimant"]["run_id"])
        path.write_text(json.dumps(record))
    assert len(claimed_by) == 1 and None not in claimed_by
    asked: list[str] = []

    def ended(run_id: str) -> bool:
        asked.append(run_id)
        return True

    _, image = _estimate(inbox, storage, run_over=ended).stages
    assert (image.send, image.in_flight) == (1, 0)
    assert asked == list(claimed_by)
    _, image = _estimate(inbox, storage, run_over=lambda run_id: False).stages
    assert (image.send, image.in_flight) == (0, 1)
    _, image = _estimate(inbox, storage).stages  # the `chargen estimate` command: no Dagster
    assert (image.send, image.in_flight) == (0, 1)


def test_a_locked_character_with_no_image_yet_is_not_priced_for_one(
    inbox: Path, tmp_path: Path
) -> None:
    _add_to_sheet(inbox, "locked: true")
    priced = _estimate(inbox, tmp_path / "storage")
    analysis, image = priced.stages
    assert "crimson-knight" not in analysis.sending  # the run refuses it before its analysis
    assert "crimson-knight" not in image.sending
    assert "no image of it is stored yet" in priced.unreadable["crimson-knight"]
    assert "not sent: crimson-knight: character.yaml says locked" in priced.table()


def test_with_qa_failures_dead_lettered_a_failing_image_is_priced_to_be_made_again(
    inbox: Path, tmp_path: Path, emulator: RunningEmulator
) -> None:
    storage = _made_alone(inbox, tmp_path, emulator)
    store = ChargenStorage(local_root=str(storage))
    made = store.read_artifact("character_image", "crimson-knight", GeneratedImage)
    failing = [made.qa[0].model_copy(update={"passed": False, "detail": "planted"})]
    store.store_artifact(
        "character_image", "crimson-knight", made.model_copy(update={"qa": failing})
    )

    def image_estimate(qa_must_pass: bool) -> tuple[int, int]:
        _, image = _estimate(inbox, storage, qa_must_pass=qa_must_pass).stages
        return image.send, image.kept

    assert image_estimate(qa_must_pass=False) == (0, 1)  # warn: kept, its check shows it
    assert image_estimate(qa_must_pass=True) == (1, 0)  # dead_letter: the run makes it again


def test_a_reference_images_name_the_folder_lacks_is_not_priced(
    inbox: Path, tmp_path: Path
) -> None:
    _add_to_sheet(inbox, "reference_images: [missing.png]")
    priced = _estimate(inbox, tmp_path / "storage")
    assert "reference_images names missing.png" in priced.unreadable["crimson-knight"]
    assert all("crimson-knight" not in stage.sending for stage in priced.stages)


def test_regenerating_a_locked_character_is_priced_at_nothing(
    inbox: Path, tmp_path: Path, emulator: RunningEmulator
) -> None:
    storage = _made_alone(inbox, tmp_path, emulator)
    _add_to_sheet(inbox, "locked: true")
    analysis, image = _estimate(inbox, storage, regenerate=True).stages
    assert (analysis.send, analysis.kept, image.send, image.kept) == (0, 1, 0, 1)


def test_a_character_without_its_source_stored_is_listed_when_the_source_is_not_selected(
    inbox: Path, tmp_path: Path
) -> None:
    priced = _estimate(
        inbox, tmp_path / "storage", ["crimson-knight"], stages=["character_analysis"]
    )
    assert priced.unreadable["crimson-knight"].startswith("source_image has not been materialized")
    assert "not sent: crimson-knight: source_image has not been" in priced.table()


def test_an_answer_a_finished_job_still_holds_is_priced_as_read_back_not_sent(
    inbox: Path, tmp_path: Path, emulator: RunningEmulator
) -> None:
    """As the run decides by the claim rule: a request whose job finished (its output still
    there) is read back from it for free, as after a template is reverted."""
    storage = _made_alone(inbox, tmp_path, emulator, mode="batch")
    store = ChargenStorage(local_root=str(storage))
    record = store.read_artifact("character_image", "crimson-knight", GeneratedImage)
    (storage / "chargen" / "character_image" / "crimson-knight.json").unlink()  # not kept
    _, image = _estimate(inbox, storage).stages
    assert (image.send, image.kept, image.in_flight) == (0, 0, 1)
    paid_before = _billing(emulator)["paid"]
    _materialize(inbox, storage, emulator, mode="batch")
    assert _billing(emulator)["paid"] == paid_before  # the run read it back, as priced
    again = store.read_artifact("character_image", "crimson-knight", GeneratedImage)
    assert again.prompt_hash == record.prompt_hash


def test_a_cost_under_a_dollar_shows_tenths_of_a_cent() -> None:
    """One analysis request costs a fraction of a cent: it is not shown as free."""
    from chargen_resources.pipeline.estimate import _cost_cell

    assert _cost_cell(0.0012, 0, 9) == "    0.001"
    assert _cost_cell(0.0, 0, 9) == "     0.00" and _cost_cell(12.345, 1, 9) == "  12.35+?"
