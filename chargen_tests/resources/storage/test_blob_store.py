"""Both BlobStore backends against the same contract: a temp folder and a moto S3 server."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from chargen_resources.storage.blob_store import (
    BlobNotFoundError,
    BlobStore,
    LocalBlobStore,
    S3BlobStore,
)
from chargen_resources.storage.keys import InvalidKeyError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return LocalBlobStore(tmp_path / "store")
    client = request.getfixturevalue("s3_client")
    bucket = request.getfixturevalue("s3_bucket")
    return S3BlobStore(client, bucket)


def test_put_then_get_returns_the_same_bytes(store: BlobStore) -> None:
    store.put_bytes("chargen/hero/red.png", b"\x89PNG-ish", "image/png")
    assert store.get_bytes("chargen/hero/red.png") == b"\x89PNG-ish"
    assert store.exists("chargen/hero/red.png")


def test_put_replaces_existing_object(store: BlobStore) -> None:
    store.put_bytes("a/b.json", b"{}", "application/json")
    store.put_bytes("a/b.json", b'{"v": 2}', "application/json")
    assert store.get_bytes("a/b.json") == b'{"v": 2}'


def test_missing_key_reports_its_uri(store: BlobStore) -> None:
    assert not store.exists("nothing/here.json")
    with pytest.raises(BlobNotFoundError, match=r"nothing/here\.json"):
        store.get_bytes("nothing/here.json")
    with pytest.raises(BlobNotFoundError):
        store.iter_bytes("nothing/here.json")


def test_iter_bytes_streams_in_chunks(store: BlobStore) -> None:
    payload = bytes(range(256)) * 40  # 10 240 bytes
    store.put_bytes("big.bin", payload, "application/octet-stream")
    chunks = list(store.iter_bytes("big.bin", chunk_size=4096))
    assert b"".join(chunks) == payload
    assert [len(chunk) for chunk in chunks] == [4096, 4096, 2048]


def test_delete_is_idempotent(store: BlobStore) -> None:
    store.put_bytes("x/y.json", b"1", "application/json")
    store.delete("x/y.json")
    assert not store.exists("x/y.json")
    store.delete("x/y.json")


def test_an_emptied_folder_is_forgotten_and_one_with_objects_kept(store: BlobStore) -> None:
    store.put_bytes("a/empty/deep/x.bin", b"x", "")
    store.put_bytes("a/full/y.bin", b"y", "")
    store.delete("a/empty/deep/x.bin")
    store.remove_empty_folder("a/empty/")
    store.remove_empty_folder("a/full/")
    store.remove_empty_folder("a/never/")  # nothing there: nothing to do
    assert list(store.list_keys("a/")) == ["a/full/y.bin"]
    if isinstance(store, LocalBlobStore):
        assert not (store.root / "a" / "empty").exists()
        assert (store.root / "a" / "full").is_dir()
        with pytest.raises(ValueError, match="not its root"):
            store.remove_empty_folder("")  # never the whole store


def test_list_keys_filters_by_prefix_and_sorts(store: BlobStore) -> None:
    for key in ["p/b/2.json", "p/a.json", "p/b/1.json", "q/a.json", "pz.json"]:
        store.put_bytes(key, b"{}", "application/json")
    assert list(store.list_keys("p/")) == ["p/a.json", "p/b/1.json", "p/b/2.json"]
    assert list(store.list_keys("p/b/1")) == ["p/b/1.json"]
    assert list(store.list_keys("p")) == ["p/a.json", "p/b/1.json", "p/b/2.json", "pz.json"]
    assert list(store.list_keys("nope/")) == []
    assert len(list(store.list_keys())) == 5


def test_list_versions_sees_one_folder_and_every_rewrite(store: BlobStore) -> None:
    for key in ["p/a.json", "p/b.json", "p/deeper/c.json", "pz.json"]:
        store.put_bytes(key, b"{}", "application/json")
    first = store.list_versions("p/")
    assert sorted(first) == ["a.json", "b.json"]  # not the folder below, not its neighbour
    store.put_bytes("p/a.json", b'{"v": 2}', "application/json")
    again = store.list_versions("p/")
    assert again["a.json"] != first["a.json"] and again["b.json"] == first["b.json"]
    store.put_bytes("p/b.json", b"[]", "application/json")  # the same size, other bytes
    assert store.list_versions("p/")["b.json"] != first["b.json"]
    assert store.list_versions("nope/") == {}
    with pytest.raises(ValueError, match="ends with '/'"):
        store.list_versions("p")


def test_move_renames_and_removes_source(store: BlobStore) -> None:
    store.put_bytes("staging/1.png", b"img", "image/png")
    store.move("staging/1.png", "final/deep/1.png")
    assert store.get_bytes("final/deep/1.png") == b"img"
    assert not store.exists("staging/1.png")
    with pytest.raises(BlobNotFoundError):
        store.move("staging/1.png", "final/again.png")


def test_copy_keeps_the_source_and_each_name_can_be_replaced_alone(store: BlobStore) -> None:
    store.put_bytes("final/ash.png", b"first", "image/png")
    store.put_bytes("takes/ash/01.png", b"older take", "image/png")
    store.copy("final/ash.png", "takes/ash/01.png")
    assert store.get_bytes("takes/ash/01.png") == b"first" == store.get_bytes("final/ash.png")
    store.put_bytes("final/ash.png", b"second", "image/png")  # the next image
    assert store.get_bytes("takes/ash/01.png") == b"first"
    store.delete("final/ash.png")
    assert store.get_bytes("takes/ash/01.png") == b"first"
    with pytest.raises(BlobNotFoundError):
        store.copy("final/ash.png", "takes/ash/02.png")
    assert not store.exists("takes/ash/02.png")


def test_local_copy_writes_no_bytes_and_leaves_no_temp_files(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    store.put_bytes("final/ash.png", b"x" * 1000, "image/png")
    store.copy("final/ash.png", "takes/ash/01.png")
    assert (
        os.stat(store.path("takes/ash/01.png")).st_ino
        == os.stat(store.path("final/ash.png")).st_ino
    )
    assert sorted(p.name for p in (tmp_path / "takes" / "ash").iterdir()) == ["01.png"]


def test_local_copy_falls_back_to_the_bytes_without_hard_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalBlobStore(tmp_path)
    store.put_bytes("final/ash.png", b"drawn", "image/png")

    def no_links(*args: object) -> None:
        raise PermissionError("this file system has no hard links")

    monkeypatch.setattr(os, "link", no_links)
    store.copy("final/ash.png", "takes/ash/01.png")
    assert store.get_bytes("takes/ash/01.png") == b"drawn"
    assert sorted(p.name for p in (tmp_path / "takes" / "ash").iterdir()) == ["01.png"]


@pytest.mark.parametrize(
    "bad_key", ["", "/abs.json", "a/../b.json", "..", "a\\b.json", "a//b.json", "a/./b", "dir/"]
)
def test_bad_keys_are_rejected_before_any_io(store: BlobStore, bad_key: str) -> None:
    with pytest.raises(InvalidKeyError, match="Invalid storage key"):
        store.put_bytes(bad_key, b"x", "text/plain")
    with pytest.raises(InvalidKeyError):
        store.get_bytes(bad_key)
    with pytest.raises(InvalidKeyError):
        store.exists(bad_key)


def test_bad_prefix_is_rejected(store: BlobStore) -> None:
    with pytest.raises(InvalidKeyError, match="Invalid storage prefix"):
        store.list_keys("../etc/")


def test_local_uri_is_absolute_file_uri(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    assert store.uri("a/b.png") == (tmp_path.resolve() / "a" / "b.png").as_uri()
    assert store.uri("a/b.png").startswith("file:///")


def test_local_root_relative_path_is_resolved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = LocalBlobStore(Path("rel/store"))
    assert store.root == tmp_path.resolve() / "rel" / "store"


def test_local_write_is_atomic_and_leaves_no_temp_files(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    store.put_bytes("d/a.json", b"old", "application/json")
    original_inode = os.stat(tmp_path / "d" / "a.json").st_ino
    store.put_bytes("d/a.json", b"new", "application/json")
    # os.replace swaps in a new file rather than rewriting the old one in place.
    assert os.stat(tmp_path / "d" / "a.json").st_ino != original_inode
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["a.json"]


def test_local_failed_write_keeps_old_content(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    store.put_bytes("d/a.json", b"old", "application/json")
    with pytest.raises(TypeError):
        store.put_bytes("d/a.json", "not bytes", "application/json")  # type: ignore[arg-type]
    assert store.get_bytes("d/a.json") == b"old"
    assert list(store.list_keys()) == ["d/a.json"]


def test_local_listing_hides_in_flight_temp_files(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    store.put_bytes("d/a.json", b"1", "application/json")
    (tmp_path / "d" / ".chargen-tmp-abc").write_bytes(b"partial")
    assert list(store.list_keys("d/")) == ["d/a.json"]
    assert list(store.list_versions("d/")) == ["a.json"]


def test_s3_uri_and_content_type(s3_client: S3Client, s3_bucket: str) -> None:
    store = S3BlobStore(s3_client, s3_bucket)
    store.put_bytes("c/hero.png", b"img", "image/png")
    assert store.uri("c/hero.png") == f"s3://{s3_bucket}/c/hero.png"
    head = s3_client.head_object(Bucket=s3_bucket, Key="c/hero.png")
    assert head["ContentType"] == "image/png"


def test_s3_listing_follows_every_page(s3_client: S3Client, s3_bucket: str) -> None:
    store = S3BlobStore(s3_client, s3_bucket, list_page_size=2)
    keys = [f"many/{index:02d}.json" for index in range(7)]
    for key in keys:
        s3_client.put_object(Bucket=s3_bucket, Key=key, Body=b"{}")
    list_calls: list[str] = []
    s3_client.meta.events.register(
        "before-call.s3.ListObjectsV2", lambda **_: list_calls.append("list")
    )
    assert list(store.list_keys("many/")) == keys
    assert len(list_calls) == 4  # 2 + 2 + 2 + 1


def test_s3_store_needs_a_bucket(s3_client: S3Client) -> None:
    with pytest.raises(ValueError, match="bucket"):
        S3BlobStore(s3_client, "")


def test_image_sink_streams_into_the_same_store(store: BlobStore) -> None:
    key = "chargen/character_image/hero.png"
    writer = store.image_sink().open(key, "image/png")
    writer.write(b"\x89PNG\r\n\x1a\n")
    writer.write(b"more bytes")
    # Nothing is visible until the writer commits (local temp files are hidden from listings).
    assert list(store.list_keys("chargen/")) == []
    stored = writer.commit()
    assert stored.url == store.uri(key)
    assert store.get_bytes(key) == b"\x89PNG\r\n\x1a\nmore bytes"
    assert list(store.list_keys("chargen/")) == [key]


def test_create_new_writes_once_and_refuses_an_existing_key(store: BlobStore) -> None:
    assert store.create_new("chargen/_ledger/claim.json", b"first", "application/json")
    assert not store.create_new("chargen/_ledger/claim.json", b"second", "application/json")
    assert store.get_bytes("chargen/_ledger/claim.json") == b"first"


def test_create_new_has_exactly_one_winner_among_racing_writers(store: BlobStore) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        won = list(
            pool.map(
                lambda n: store.create_new("race/key.json", str(n).encode(), "text/plain"),
                range(16),
            )
        )
    assert won.count(True) == 1
    assert store.get_bytes("race/key.json") == str(won.index(True)).encode()
