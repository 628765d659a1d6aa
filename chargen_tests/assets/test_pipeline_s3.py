"""The same pipeline with the inbox and the results in S3 (a moto server on loopback)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
import polars as pl
from dagster_aws.s3 import S3Resource
from PIL import Image

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

from chargen_assets.resources import GeminiBatchResource, InboxResource
from chargen_assets.storage import ChargenStorage
from chargen_resources.characters.artifacts import GeneratedImage
from chargen_resources.emulator import RunningEmulator
from chargen_tests.fixtures.emulator import client_for
from chargen_tests.fixtures.platform import COLOURS, Platform


def test_inbox_and_results_in_s3(
    emulator: RunningEmulator, moto_server: str, s3_client: S3Client, s3_bucket: str, tmp_path: Path
) -> None:
    for name, colour in list(COLOURS.items())[:3]:
        buffer = io.BytesIO()
        Image.new("RGB", (48, 64), colour).save(buffer, format="PNG")
        s3_client.put_object(
            Bucket=s3_bucket, Key=f"sketches/{name}/front.png", Body=buffer.getvalue()
        )
    s3 = S3Resource(endpoint_url=moto_server, region_name="us-east-1")
    storage = ChargenStorage(backend="s3", s3_bucket=s3_bucket, prefix="results", s3=s3)
    resources: dict[str, object] = {
        "gemini": GeminiBatchResource(
            base_url=emulator.base_url, poll_interval_seconds=0.01, max_poll_interval_seconds=0.05
        ),
        "storage": storage,
        "inbox": InboxResource(backend="s3", s3_bucket=s3_bucket, s3_prefix="sketches", s3=s3),
    }
    with dg.DagsterInstance.ephemeral() as instance:
        platform = Platform(
            tmp_path / "unused", tmp_path, instance, resources, client_for(emulator)
        )
        keys = list(COLOURS)[:3]
        assert platform.run(keys).success
        assert platform.materialized("character_image") == set(keys)
    image = storage.read_artifact("character_image", keys[0], GeneratedImage)
    assert image.image_uri == f"s3://{s3_bucket}/results/character_image/{keys[0]}.png"
    body = s3_client.get_object(Bucket=s3_bucket, Key=image.image_key)["Body"].read()
    assert body.startswith(b"\x89PNG") and len(body) == image.bytes
    listed = s3_client.list_objects_v2(Bucket=s3_bucket, Prefix="results/_staging")
    assert listed.get("KeyCount", 0) == 0  # nothing left half-way
    inbox_keys = s3_client.list_objects_v2(Bucket=s3_bucket, Prefix="sketches/")["KeyCount"]
    assert inbox_keys == 3  # the inbox is only read


def test_downstream_assets_read_the_characters_from_s3(
    emulator: RunningEmulator, moto_server: str, s3_client: S3Client, s3_bucket: str, tmp_path: Path
) -> None:
    from chargen_assets.catalog import character_catalog
    from chargen_assets.contact_sheet import cast_contact_sheet
    from chargen_assets.pipeline import character_pipeline
    from chargen_assets.storage import ChargenIOManager

    s3 = S3Resource(endpoint_url=moto_server, region_name="us-east-1")
    storage = ChargenStorage(backend="s3", s3_bucket=s3_bucket, prefix="results", s3=s3)
    inbox = tmp_path / "inbox"
    for name, colour in list(COLOURS.items())[:3]:
        (inbox / name).mkdir(parents=True)
        Image.new("RGB", (48, 64), colour).save(inbox / name / "front.png")
    (inbox / "ember").mkdir()
    (inbox / "ember" / "front.png").write_bytes(b"not an image")  # fails: no image downstream
    resources: dict[str, object] = {
        "gemini": GeminiBatchResource(
            base_url=emulator.base_url, poll_interval_seconds=0.01, max_poll_interval_seconds=0.05
        ),
        "storage": storage,
        "inbox": InboxResource(local_root=str(inbox)),
        "io_manager": ChargenIOManager(storage=storage),
    }
    keys = [*list(COLOURS)[:3], "ember"]
    with dg.DagsterInstance.ephemeral() as instance:
        platform = Platform(inbox, tmp_path, instance, resources, client_for(emulator))
        assert not platform.run(keys).success  # ember failed, the others made their images
        downstream = dg.materialize(
            [character_pipeline, character_catalog, cast_contact_sheet],
            selection=[character_catalog.key, cast_contact_sheet.key],
            instance=instance,
            resources=resources,
        )
        assert downstream.success
        sheet = downstream.asset_materializations_for_node("cast_contact_sheet")[0]
        assert sheet.metadata["characters"].value == 3

        def catalog_again() -> tuple[object, object]:
            result = dg.materialize(
                [character_pipeline, character_catalog],
                selection=[character_catalog.key],
                instance=instance,
                resources=resources,
            )
            metadata = result.asset_materializations_for_node("character_catalog")[0].metadata
            return metadata["characters_read"].value, metadata["contact_sheets_drawn"].value

        # Over S3 too the next catalog reads only what was stored since (by ETag).
        assert catalog_again() == (0, 0)
        record = storage.read_artifact("character_image", keys[0], GeneratedImage)
        storage.store_artifact("character_image", keys[0], record.model_copy(update={"take": 9}))
        assert catalog_again() == (1, 1)
    body = s3_client.get_object(Bucket=s3_bucket, Key="results/cast_contact_sheet.png")["Body"]
    with Image.open(io.BytesIO(body.read())) as opened:
        assert opened.format == "PNG" and opened.size == (2 * 192, 2 * (192 + 20))
    catalog = storage.read_artifact("character_catalog", None, pl.DataFrame)
    statuses = dict(catalog.select("character", "status").iter_rows())
    assert statuses == {**dict.fromkeys(list(COLOURS)[:3], "done"), "ember": "failed"}
