"""ChargenStorage and ChargenIOManager through Dagster's own execution, on a folder and on S3.

Toy assets stand in for the real stages: a JSON model per character, a PNG per character, a
Parquet catalog over all of them, and an asset that stores its own data on partial failure.
"""

# No `from __future__ import annotations`: Dagster reads these annotations at runtime.
import io
import json
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg
import polars as pl
import pytest
from dagster_aws.s3 import S3Resource
from PIL import Image
from pydantic import BaseModel

import chargen_assets.storage as storage_module
from chargen_assets.storage import (
    ArtifactNotFoundError,
    ChargenIOManager,
    ChargenStorage,
)
from chargen_resources.storage.blob_store import LocalBlobStore, S3BlobStore
from chargen_resources.storage.codecs import PNG_SIGNATURE, PngImage

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

warnings.filterwarnings("ignore", category=dg.BetaWarning)

characters = dg.DynamicPartitionsDefinition(name="characters")
CAST = ["ash", "bram", "cleo", "dune"]
COLOURS = {
    "ash": (90, 90, 90),
    "bram": (160, 80, 20),
    "cleo": (20, 120, 200),
    "dune": (200, 180, 90),
}


class ToyAnalysis(BaseModel):
    character: str
    archetype: str
    palette: list[str]


class ToyPrompt(BaseModel):
    character: str
    text: str


def tiny_png(rgb: tuple[int, int, int], width: int = 4, height: int = 6) -> PngImage:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), rgb).save(buffer, format="PNG")
    return PngImage(buffer.getvalue())


@dg.asset(partitions_def=characters, backfill_policy=dg.BackfillPolicy.single_run())
def toy_analysis(context: dg.AssetExecutionContext) -> dict[str, ToyAnalysis]:
    return {
        key: ToyAnalysis(character=key, archetype="rogue", palette=["#000", f"#{key[:3]}"])
        for key in context.partition_keys
    }


@dg.asset(partitions_def=characters, backfill_policy=dg.BackfillPolicy.single_run())
def toy_image(
    context: dg.AssetExecutionContext, toy_analysis: dict[str, ToyAnalysis]
) -> dict[str, PngImage]:
    assert sorted(toy_analysis) == sorted(context.partition_keys)
    assert all(isinstance(value, ToyAnalysis) for value in toy_analysis.values())
    return {key: tiny_png(COLOURS[key]) for key in toy_analysis}


@dg.asset(partitions_def=characters)
def toy_prompt(context: dg.AssetExecutionContext, toy_analysis: ToyAnalysis) -> ToyPrompt:
    # A one-partition asset annotated with the bare model gets the bare model.
    assert toy_analysis.character == context.partition_key
    return ToyPrompt(character=toy_analysis.character, text=f"a {toy_analysis.archetype}")


@dg.asset
def toy_catalog(toy_image: dict[str, PngImage]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "character": sorted(toy_image),
            "width": [toy_image[key].width for key in sorted(toy_image)],
            "png_bytes": [len(toy_image[key].data) for key in sorted(toy_image)],
        }
    )


@dg.asset(ins={"toy_image": dg.AssetIn(metadata={"allow_missing_partitions": True})})
def toy_gallery(toy_image: dict[str, PngImage]) -> dict[str, Any]:
    """A cast-wide asset that shows the characters with an image so far."""
    return {"shown": sorted(toy_image)}


@dg.asset(
    partitions_def=characters,
    backfill_policy=dg.BackfillPolicy.single_run(),
    key_prefix=["team", "toys"],
)
def toy_sheet(context: dg.AssetExecutionContext) -> dict[str, Any]:
    # Plain JSON per partition, under a multi-component asset key.
    return {key: {"name": key.title(), "tags": ["toy"]} for key in context.partition_keys}


@dg.asset(partitions_def=characters, backfill_policy=dg.BackfillPolicy.single_run())
def toy_partial(context: dg.AssetExecutionContext, storage: ChargenStorage) -> None:
    """Stores the good partitions itself, records them, then fails the bad one."""
    failed = [key for key in context.partition_keys if key == "dune"]
    for key in context.partition_keys:
        if key in failed:
            storage.write_dead_letter(
                "toy_partial", key, ToyPrompt(character=key, text="blocked by safety")
            )
            continue
        stored_key = storage.store_artifact("toy_partial", key, tiny_png(COLOURS[key])).key
        context.log_event(
            dg.AssetMaterialization(
                asset_key=context.asset_key, partition=key, metadata={"key": stored_key}
            )
        )
    if failed:
        raise dg.Failure(description=f"Characters failed: {', '.join(failed)}")


@dataclass
class Backend:
    """A configured ChargenStorage plus an independent way to read what it wrote."""

    storage: ChargenStorage
    read_raw: Callable[[str], bytes]
    list_raw: Callable[[], list[str]]

    def resources(self) -> dict[str, Any]:
        return {"io_manager": ChargenIOManager(storage=self.storage), "storage": self.storage}


def local_backend(root: Path) -> Backend:
    def list_raw() -> list[str]:
        return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())

    return Backend(
        storage=ChargenStorage(backend="local", local_root=str(root), prefix="chargen"),
        read_raw=lambda key: (root / key).read_bytes(),
        list_raw=list_raw,
    )


def s3_backend(client: "S3Client", bucket: str, endpoint: str) -> Backend:
    def read_raw(key: str) -> bytes:
        return client.get_object(Bucket=bucket, Key=key)["Body"].read()

    def list_raw() -> list[str]:
        return sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", []))

    storage = ChargenStorage(
        backend="s3",
        s3_bucket=bucket,
        prefix="chargen",
        s3=S3Resource(endpoint_url=endpoint, region_name="us-east-1"),
    )
    return Backend(storage=storage, read_raw=read_raw, list_raw=list_raw)


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "local":
        return local_backend(tmp_path / "store")
    return s3_backend(
        request.getfixturevalue("s3_client"),
        request.getfixturevalue("s3_bucket"),
        request.getfixturevalue("moto_server"),
    )


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as ephemeral:
        ephemeral.add_dynamic_partitions("characters", CAST)
        yield ephemeral


def backfill_tags(first: str, last: str) -> dict[str, str]:
    return {
        "dagster/asset_partition_range_start": first,
        "dagster/asset_partition_range_end": last,
    }


def materialized_partitions(instance: dg.DagsterInstance, asset: str) -> set[str]:
    return instance.get_materialized_partitions(dg.AssetKey(asset))


def test_single_partition_run_stores_json_and_feeds_bare_value(
    backend: Backend, instance: dg.DagsterInstance
) -> None:
    result = dg.materialize(
        [toy_analysis, toy_prompt],
        partition_key="bram",
        instance=instance,
        resources=backend.resources(),
    )
    assert result.success
    assert backend.list_raw() == ["chargen/toy_analysis/bram.json", "chargen/toy_prompt/bram.json"]
    stored = json.loads(backend.read_raw("chargen/toy_analysis/bram.json"))
    assert stored == {"archetype": "rogue", "character": "bram", "palette": ["#000", "#bra"]}
    prompt = json.loads(backend.read_raw("chargen/toy_prompt/bram.json"))
    assert prompt == {"character": "bram", "text": "a rogue"}
    metadata = result.asset_materializations_for_node("toy_analysis")[0].metadata
    assert metadata["storage_key"] == dg.TextMetadataValue("chargen/toy_analysis/bram.json")
    assert metadata["stored_bytes"].value == len(backend.read_raw("chargen/toy_analysis/bram.json"))


def test_single_run_backfill_stores_each_partition_natively(
    backend: Backend, instance: dg.DagsterInstance
) -> None:
    result = dg.materialize(
        [toy_analysis, toy_image],
        instance=instance,
        resources=backend.resources(),
        tags=backfill_tags("ash", "cleo"),
    )
    assert result.success
    assert backend.list_raw() == [
        *(f"chargen/toy_analysis/{key}.json" for key in ["ash", "bram", "cleo"]),
        *(f"chargen/toy_image/{key}.png" for key in ["ash", "bram", "cleo"]),
    ]
    for key in ["ash", "bram", "cleo"]:
        png = backend.read_raw(f"chargen/toy_image/{key}.png")
        assert png.startswith(PNG_SIGNATURE)
        with Image.open(io.BytesIO(png)) as image:
            assert image.format == "PNG"
            assert image.size == (4, 6)
            assert image.getpixel((0, 0)) == COLOURS[key]
        assert json.loads(backend.read_raw(f"chargen/toy_analysis/{key}.json"))["character"] == key
    assert materialized_partitions(instance, "toy_image") == {"ash", "bram", "cleo"}
    # One step for three partitions: the run-level metadata summarises, not per key.
    metadata = result.asset_materializations_for_node("toy_image")[0].metadata
    assert metadata["partitions_stored"].value == 3
    assert metadata["storage_key_pattern"].value == "chargen/toy_image/{partition}.png"


def test_downstream_backfill_reads_several_upstream_partitions_as_dict(
    backend: Backend, instance: dg.DagsterInstance
) -> None:
    resources = backend.resources()
    assert dg.materialize(
        [toy_analysis], instance=instance, resources=resources, tags=backfill_tags("ash", "dune")
    ).success
    # toy_image loads four upstream partitions in one step (its asserts check the dict).
    result = dg.materialize(
        [toy_analysis, toy_image],
        instance=instance,
        resources=resources,
        tags=backfill_tags("ash", "dune"),
        selection=[toy_image],
    )
    assert result.success
    assert [k for k in backend.list_raw() if k.endswith(".png")] == [
        f"chargen/toy_image/{key}.png" for key in CAST
    ]


def test_dict_input_annotation_gets_dict_for_one_partition(
    backend: Backend, instance: dg.DagsterInstance
) -> None:
    result = dg.materialize(
        [toy_analysis, toy_image],
        partition_key="cleo",
        instance=instance,
        resources=backend.resources(),
    )
    assert result.success
    assert backend.read_raw("chargen/toy_image/cleo.png").startswith(PNG_SIGNATURE)


def test_unpartitioned_catalog_is_parquet_over_all_partitions(
    backend: Backend, instance: dg.DagsterInstance
) -> None:
    resources = backend.resources()
    dg.materialize(
        [toy_analysis, toy_image],
        instance=instance,
        resources=resources,
        tags=backfill_tags("ash", "dune"),
    )
    result = dg.materialize(
        [toy_analysis, toy_image, toy_catalog],
        instance=instance,
        resources=resources,
        selection=[toy_catalog],
    )
    assert result.success
    data = backend.read_raw("chargen/toy_catalog.parquet")
    assert data[:4] == b"PAR1"
    catalog = pl.read_parquet(io.BytesIO(data))
    assert catalog["character"].to_list() == CAST
    assert catalog["width"].to_list() == [4, 4, 4, 4]
    metadata = result.asset_materializations_for_node("toy_catalog")[0].metadata
    assert metadata["dagster/row_count"].value == 4


def test_an_input_may_leave_out_the_characters_without_a_result(
    backend: Backend, instance: dg.DagsterInstance
) -> None:
    resources = backend.resources()
    dg.materialize(
        [toy_analysis, toy_image],
        instance=instance,
        resources=resources,
        tags=backfill_tags("ash", "bram"),
    )

    def cast_wide(asset: dg.AssetsDefinition) -> dg.ExecuteInProcessResult:
        return dg.materialize(
            [toy_analysis, toy_image, asset],
            instance=instance,
            resources=resources,
            selection=[asset],
            raise_on_error=False,
        )

    assert cast_wide(toy_gallery).success
    assert json.loads(backend.read_raw("chargen/toy_gallery.json")) == {"shown": ["ash", "bram"]}
    # Without the metadata, a character without a result is an error that names it.
    strict = cast_wide(toy_catalog)
    assert not strict.success
    assert "partition 'cleo'" in step_failure_message(strict)


def test_stored_versions_come_from_one_listing(
    backend: Backend, instance: dg.DagsterInstance
) -> None:
    dg.materialize(
        [toy_analysis, toy_image],
        instance=instance,
        resources=backend.resources(),
        tags=backfill_tags("ash", "cleo"),
    )
    images = backend.storage.stored_versions("toy_image", PngImage)
    assert set(images) == {"ash", "bram", "cleo"}
    assert set(backend.storage.stored_versions("toy_analysis", ToyAnalysis)) == set(images)
    assert backend.storage.stored_versions("toy_image", ToyAnalysis) == {}  # no JSON there
    redrawn = backend.storage.artifact_key("toy_image", "bram", "png")
    backend.storage.store().put_bytes(redrawn, PNG_SIGNATURE + b"redrawn", "image/png")
    again = backend.storage.stored_versions("toy_image", PngImage)
    assert [key for key in images if again[key] != images[key]] == ["bram"]
    # Of several formats for one partition, the version is that of the one a read picks (JSON).
    both = backend.storage.stored_versions("toy_image")
    backend.storage.store().put_bytes(
        backend.storage.artifact_key("toy_image", "bram", "json"), b"{}", "application/json"
    )
    with_json = backend.storage.stored_versions("toy_image")
    assert with_json["bram"] != both["bram"] and with_json["ash"] == both["ash"]
    backend.storage.store().put_bytes(redrawn, PNG_SIGNATURE + b"again", "image/png")
    assert backend.storage.stored_versions("toy_image")["bram"] == with_json["bram"]


def test_multi_component_asset_key_and_plain_json(
    backend: Backend, instance: dg.DagsterInstance
) -> None:
    result = dg.materialize(
        [toy_sheet],
        instance=instance,
        resources=backend.resources(),
        tags=backfill_tags("ash", "bram"),
    )
    assert result.success
    assert backend.list_raw() == [
        "chargen/team/toys/toy_sheet/ash.json",
        "chargen/team/toys/toy_sheet/bram.json",
    ]
    assert json.loads(backend.read_raw("chargen/team/toys/toy_sheet/ash.json")) == {
        "name": "Ash",
        "tags": ["toy"],
    }


def test_partial_failure_keeps_good_partitions_and_dead_letters(
    backend: Backend, instance: dg.DagsterInstance
) -> None:
    result = dg.materialize(
        [toy_partial],
        instance=instance,
        resources=backend.resources(),
        tags=backfill_tags("ash", "dune"),
        raise_on_error=False,
    )
    assert not result.success
    assert materialized_partitions(instance, "toy_partial") == {"ash", "bram", "cleo"}
    assert backend.list_raw() == [
        "chargen/_dead_letters/toy_partial/dune.json",
        *(f"chargen/toy_partial/{key}.png" for key in ["ash", "bram", "cleo"]),
    ]
    record = backend.storage.read_dead_letter("toy_partial", "dune", ToyPrompt)
    assert record == ToyPrompt(character="dune", text="blocked by safety")
    backend.storage.write_dead_letter("toy_other", "dune", record)
    assert backend.storage.dead_lettered() == {"dune": {"toy_partial", "toy_other"}}
    assert list(backend.storage.dead_letter_versions("toy_other")) == ["dune"]
    # The successes are readable like any IO-manager output.
    image = backend.storage.read_artifact("toy_partial", "ash", PngImage)
    assert image.data.startswith(PNG_SIGNATURE)
    backend.storage.clear_dead_letter("toy_partial", "dune")
    assert backend.storage.read_dead_letter("toy_partial", "dune", ToyPrompt) is None
    assert backend.storage.dead_lettered() == {"dune": {"toy_other"}}
    assert backend.storage.dead_letter_versions("toy_partial") == {}


def step_failure_message(result: dg.ExecuteInProcessResult) -> str:
    failures = [event for event in result.all_events if event.is_step_failure]
    assert failures, "expected a failed step"
    error = failures[0].step_failure_data.error
    assert error is not None
    return error.to_string()


def test_missing_upstream_says_which_and_what_to_do(
    backend: Backend, instance: dg.DagsterInstance
) -> None:
    result = dg.materialize(
        [toy_analysis, toy_prompt],
        partition_key="ash",
        instance=instance,
        resources=backend.resources(),
        selection=[toy_prompt],
        raise_on_error=False,
    )
    assert not result.success
    message = step_failure_message(result)
    assert "ArtifactNotFoundError" in message
    assert "asset 'toy_analysis' partition 'ash'" in message
    assert "chargen/toy_analysis/ash.json" in message
    assert "Materialize 'toy_analysis'" in message


@dg.asset(partitions_def=characters, backfill_policy=dg.BackfillPolicy.single_run())
def toy_wrong_shape(context: dg.AssetExecutionContext) -> Any:
    return ToyPrompt(character="everyone", text="one value for many partitions")


@dg.asset(partitions_def=characters, backfill_policy=dg.BackfillPolicy.single_run())
def toy_missing_key(context: dg.AssetExecutionContext) -> Any:
    return {key: ToyPrompt(character=key, text="x") for key in context.partition_keys[1:]}


@pytest.mark.parametrize(
    ("asset", "expected"),
    [
        (toy_wrong_shape, "ran for 2 partitions but returned one ToyPrompt"),
        (toy_missing_key, "missing ['ash']"),
    ],
)
def test_multi_partition_output_must_be_a_dict_per_partition(
    tmp_path: Path, instance: dg.DagsterInstance, asset: dg.AssetsDefinition, expected: str
) -> None:
    backend = local_backend(tmp_path)
    result = dg.materialize(
        [asset],
        instance=instance,
        resources=backend.resources(),
        tags=backfill_tags("ash", "bram"),
        raise_on_error=False,
    )
    assert not result.success
    assert expected in step_failure_message(result)
    assert backend.list_raw() == []


def test_storage_api_round_trip_and_missing_artifact(tmp_path: Path) -> None:
    storage = ChargenStorage(local_root=str(tmp_path), prefix="p")
    key = storage.store_artifact(
        dg.AssetKey(["a", "b"]), "hero", ToyPrompt(character="h", text="t")
    ).key
    assert key == "p/a/b/hero.json"
    assert storage.artifact_key("a/b", "hero", "json") == key
    assert storage.read_artifact("a/b", "hero", ToyPrompt) == ToyPrompt(character="h", text="t")
    # Without a type the format is discovered and the JSON comes back as plain data.
    assert storage.read_artifact("a/b", "hero") == {"character": "h", "text": "t"}
    with pytest.raises(
        ArtifactNotFoundError, match=r"asset 'a/b' partition 'villain'.*Materialize"
    ):
        storage.read_artifact("a/b", "villain", ToyPrompt)


def test_storage_is_cached_and_local_root_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    storage = ChargenStorage()
    store = storage.store()
    assert storage.store() is store
    assert isinstance(store, LocalBlobStore)
    assert store.root == (tmp_path / ".chargen" / "storage").resolve()


def test_s3_backend_needs_a_bucket() -> None:
    with pytest.raises(dg.DagsterInvalidConfigError, match="needs s3_bucket"):
        ChargenStorage(backend="s3").store()


def test_s3_backend_builds_a_client_from_the_nested_resource(
    moto_server: str, s3_bucket: str
) -> None:
    storage = ChargenStorage(
        backend="s3", s3_bucket=s3_bucket, s3=S3Resource(endpoint_url=moto_server)
    )
    store = storage.store()
    assert isinstance(store, S3BlobStore)
    assert storage.store_artifact("x", None, {"a": 1}).uri == f"s3://{s3_bucket}/chargen/x.json"


@dg.asset(partitions_def=characters, backfill_policy=dg.BackfillPolicy.single_run())
def toy_self_stored(
    context: dg.AssetExecutionContext, storage: ChargenStorage
) -> dict[str, ToyPrompt | None]:
    # "ash" is written by the asset itself (None tells the IO manager to leave it alone).
    storage.store_artifact("toy_self_stored", "ash", ToyPrompt(character="ash", text="mine"))
    return {
        key: None if key == "ash" else ToyPrompt(character=key, text="io manager")
        for key in context.partition_keys
    }


@dg.asset(partitions_def=characters, backfill_policy=dg.BackfillPolicy.single_run())
def toy_reader(toy_self_stored: dict[str, ToyPrompt]) -> dict[str, ToyPrompt]:
    return toy_self_stored


def test_none_entries_are_left_to_the_asset_and_still_load(
    backend: Backend, instance: dg.DagsterInstance
) -> None:
    result = dg.materialize(
        [toy_self_stored, toy_reader],
        instance=instance,
        resources=backend.resources(),
        tags=backfill_tags("ash", "bram"),
    )
    assert result.success
    assert json.loads(backend.read_raw("chargen/toy_reader/ash.json"))["text"] == "mine"
    assert json.loads(backend.read_raw("chargen/toy_reader/bram.json"))["text"] == "io manager"
    # Run-level metadata lands on both partitions, so it must not name bram's key for ash.
    metadata = result.asset_materializations_for_node("toy_self_stored")[0].metadata
    assert "storage_key" not in metadata
    assert metadata["partitions_stored"].value == 1


def test_read_artifacts_names_the_missing_partition(tmp_path: Path) -> None:
    storage = ChargenStorage(local_root=str(tmp_path))
    stored = storage.store_artifacts(
        "toy", {"b": ToyPrompt(character="b", text=""), "a": ToyPrompt(character="a", text="")}
    )
    assert [item.key for item in stored] == ["chargen/toy/a.json", "chargen/toy/b.json"]
    loaded = storage.read_artifacts("toy", ["b", "a"], ToyPrompt)
    assert list(loaded) == ["a", "b"]
    assert loaded["b"] == ToyPrompt(character="b", text="")
    with pytest.raises(ArtifactNotFoundError, match="partition 'c'"):
        storage.read_artifacts("toy", ["a", "c"], ToyPrompt)


def test_artifacts_are_read_in_order_a_few_ahead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = ChargenStorage(local_root=str(tmp_path))
    for key in ("e", "a", "c", "d"):
        storage.store_artifact("toy_prompt", key, ToyPrompt(character=key, text=key))
    monkeypatch.setattr(storage_module, "READ_AHEAD", 2)
    read = storage.iter_artifacts("toy_prompt", ["d", "b", "a", "e", "c"], ToyPrompt, True)
    assert [(key, prompt.text) for key, prompt in read] == [
        ("a", "a"),
        ("c", "c"),
        ("d", "d"),
        ("e", "e"),
    ]


def test_read_artifacts_can_leave_out_missing_partitions(tmp_path: Path) -> None:
    storage = ChargenStorage(local_root=str(tmp_path))
    storage.store_artifact("toy", "a", ToyPrompt(character="a", text="x"))
    loaded = storage.read_artifacts("toy", ["a", "c"], ToyPrompt, missing_ok=True)
    assert list(loaded) == ["a"] and loaded["a"].text == "x"
