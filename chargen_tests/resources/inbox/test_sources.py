from __future__ import annotations

import contextlib
import hashlib
import io
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PIL import Image

from chargen_resources.inbox import sources
from chargen_resources.inbox.character_spec import parse_character_spec
from chargen_resources.inbox.images import SourceImageError, normalise_image
from chargen_resources.inbox.slugs import SLUG_PATTERN, name_hash
from chargen_resources.inbox.sources import (
    MAX_READ_BYTES,
    InboxCharacter,
    InboxError,
    InboxFile,
    InboxScan,
    InboxSource,
    LocalInbox,
    S3Inbox,
    SkipKind,
    content_hash,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_s3 import S3Client


def image_bytes(colour: str, fmt: str = "PNG", size: tuple[int, int] = (24, 32)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=fmt)
    return buffer.getvalue()


# Relative path -> bytes; None makes an empty folder. Mirrors what users really drop in.
INBOX_TREE: dict[str, bytes | None] = {
    "red-knight/front.png": image_bytes("red"),
    "red-knight/side.JPG": image_bytes("darkred", "JPEG"),
    "red-knight/character.yaml": b"display_name: Ser Maren\naspect_ratio: 9:16\n",
    "red-knight/notes.txt": b"remember the banner",
    "red-knight/pose.gif": image_bytes("red", "GIF"),
    "red-knight/.DS_Store": b"\x00\x01",
    "red-knight/old/first-try.png": image_bytes("pink"),
    "Élodie the Pale/portrait.webp": image_bytes("white", "WEBP"),
    "Élodie the Pale/character.yml": b"notes: pale\n",
    "hermit.PNG": image_bytes("grey"),
    "README.txt": b"drop folders here",
    ".git/config": b"[core]",
    ".hidden-hero/a.png": image_bytes("black"),
    "only-notes/notes.txt": b"no sketches yet",
    "nested-only/refs/a.png": image_bytes("green"),
    "broken/zero.png": b"",
    "broken/cut.jpg": image_bytes("blue", "JPEG", (64, 64))[:100],
    "broken/fake.webp": b"not really an image",
    "two-specs/a.jpeg": image_bytes("teal", "JPEG"),
    "two-specs/character.yaml": b"notes: first\n",
    "two-specs/character.yml": b"notes: second\n",
    "empty": None,
}


def write_tree(root: Path, tree: dict[str, bytes | None]) -> None:
    for relative, data in tree.items():
        path = root / relative
        if data is None:
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)


def upload_tree(client: S3Client, bucket: str, prefix: str, tree: dict[str, bytes | None]) -> None:
    for relative, data in tree.items():
        if data is None:
            client.put_object(Bucket=bucket, Key=f"{prefix}{relative}/", Body=b"")
        else:
            client.put_object(Bucket=bucket, Key=f"{prefix}{relative}", Body=data)


@pytest.fixture
def local_inbox(tmp_path: Path) -> LocalInbox:
    root = tmp_path / "inbox"
    root.mkdir()
    write_tree(root, INBOX_TREE)
    return LocalInbox(root)


@pytest.fixture
def s3_inbox(s3_client: S3Client, s3_bucket: str) -> S3Inbox:
    upload_tree(s3_client, s3_bucket, "team/inbox/", INBOX_TREE)
    s3_client.put_object(Bucket=s3_bucket, Key="team/other/stray.png", Body=image_bytes("red"))
    return S3Inbox(s3_client, s3_bucket, "/team/inbox", page_size=3)


def by_source(scan: InboxScan) -> dict[str, InboxCharacter]:
    return {character.source_name: character for character in scan.characters}


def check_scan(scan: InboxScan) -> None:
    """Assertions shared by the local and the S3 inbox: both must read the tree the same way."""
    characters = by_source(scan)
    assert set(characters) == {
        "red-knight",
        "Élodie the Pale",
        "hermit.PNG",
        "only-notes",
        "nested-only",
        "broken",
        "two-specs",
    }
    assert [c.key for c in scan.characters] == sorted(c.key for c in scan.characters)
    assert all(SLUG_PATTERN.fullmatch(c.key) for c in scan.characters)

    knight = characters["red-knight"]
    assert knight.key == "red-knight"
    assert [f.name for f in knight.images] == ["front.png", "side.JPG"]
    assert knight.spec_file is not None and knight.spec_file.name == "character.yaml"
    assert knight.error is None
    skipped = {entry.path: entry.kind for entry in knight.skipped}
    assert skipped == {
        "red-knight/.DS_Store": SkipKind.HIDDEN,
        "red-knight/notes.txt": SkipKind.NOT_AN_IMAGE,
        "red-knight/old": SkipKind.NESTED_FOLDER,
        "red-knight/pose.gif": SkipKind.UNSUPPORTED_IMAGE,
    }
    warnings = "\n".join(knight.warnings)
    assert "notes.txt: not a reference image" in warnings
    assert "pose.gif: GIF images are not supported; export it as PNG, JPEG or WEBP" in warnings
    assert "red-knight/old: sub-folders are not read" in warnings
    assert ".DS_Store" not in warnings  # hidden files are skipped quietly

    elodie = characters["Élodie the Pale"]
    assert elodie.key == f"elodie-the-pale-{name_hash('Élodie the Pale')}"
    assert elodie.spec_file is not None and elodie.spec_file.name == "character.yml"

    hermit = characters["hermit.PNG"]
    assert hermit.key == f"hermit-{name_hash('hermit.PNG')}"
    assert [f.name for f in hermit.images] == ["hermit.PNG"]
    assert hermit.spec_file is None

    only_notes = characters["only-notes"]
    assert only_notes.images == ()
    assert only_notes.error is not None
    assert "'only-notes': no reference image (found: notes.txt)" in only_notes.error
    assert "PNG/JPG/JPEG/WEBP" in only_notes.error
    nested_only = characters["nested-only"]
    assert nested_only.error is not None and "found: refs" in nested_only.error

    # Damaged images are listed: normalise_image judges the content, per file.
    assert [f.name for f in characters["broken"].images] == ["cut.jpg", "fake.webp", "zero.png"]

    two_specs = characters["two-specs"]
    assert two_specs.spec_file is not None and two_specs.spec_file.name == "character.yaml"
    assert [(e.path, e.kind) for e in two_specs.skipped] == [
        ("two-specs/character.yml", SkipKind.DUPLICATE_SPEC)
    ]

    root_skips = {entry.path: entry.kind for entry in scan.skipped}
    assert root_skips == {
        ".git": SkipKind.HIDDEN,
        ".hidden-hero": SkipKind.HIDDEN,
        "README.txt": SkipKind.NOT_AN_IMAGE,
        "empty": SkipKind.EMPTY_FOLDER,
    }


def check_reads(source: InboxSource, scan: InboxScan) -> None:
    characters = by_source(scan)
    knight = characters["red-knight"]
    assert source.read_bytes(knight.images[0]) == INBOX_TREE["red-knight/front.png"]
    assert knight.spec_file is not None
    spec = parse_character_spec(source.read_bytes(knight.spec_file), knight.key)
    assert spec.display_name == "Ser Maren" and spec.aspect_ratio == "9:16"
    assert knight.images[0].size == len(INBOX_TREE["red-knight/front.png"] or b"")

    broken = characters["broken"]
    failures = []
    for file in broken.images:
        with pytest.raises(SourceImageError) as caught:
            normalise_image(source.read_bytes(file), name=file.name, character=broken.key)
        failures.append(str(caught.value))
    assert all(message.startswith("character 'broken', image '") for message in failures)
    assert any("empty (0 bytes)" in message for message in failures)


def test_local_scan(local_inbox: LocalInbox) -> None:
    scan = local_inbox.scan()
    check_scan(scan)
    check_reads(local_inbox, scan)
    assert local_inbox.list_characters() == list(scan.characters)
    knight = by_source(scan)["red-knight"]
    front = knight.images[0]
    stat = Path(front.ref).stat()
    assert front.version == f"{stat.st_mtime_ns}-{stat.st_size}"
    assert isinstance(local_inbox, InboxSource)


def test_s3_scan(s3_inbox: S3Inbox, s3_client: S3Client, s3_bucket: str) -> None:
    scan = s3_inbox.scan()
    check_scan(scan)
    check_reads(s3_inbox, scan)
    front = by_source(scan)["red-knight"].images[0]
    assert front.ref == "team/inbox/red-knight/front.png"
    head = s3_client.head_object(Bucket=s3_bucket, Key=front.ref)
    assert front.version == head["ETag"].strip('"')
    assert isinstance(s3_inbox, InboxSource)
    assert s3_inbox.description == f"s3://{s3_bucket}/team/inbox/"


def test_local_and_s3_agree_on_keys_and_fingerprint_inputs(
    local_inbox: LocalInbox, s3_inbox: S3Inbox
) -> None:
    local = local_inbox.scan()
    remote = s3_inbox.scan()
    assert [c.key for c in local.characters] == [c.key for c in remote.characters]
    for mine, theirs in zip(local.characters, remote.characters, strict=True):
        assert [(f.name, f.size) for f in mine.images] == [(f.name, f.size) for f in theirs.images]
        assert content_hash(local_inbox, mine) == content_hash(s3_inbox, theirs)


def test_s3_inbox_at_bucket_root(s3_client: S3Client, s3_bucket: str) -> None:
    upload_tree(s3_client, s3_bucket, "", {"a/x.png": image_bytes("red"), "b.webp": b"x"})
    inbox = S3Inbox(s3_client, s3_bucket)
    assert [c.source_name for c in inbox.list_characters()] == ["a", "b.webp"]


def test_s3_file_and_folder_with_the_same_name(s3_client: S3Client, s3_bucket: str) -> None:
    upload_tree(
        s3_client,
        s3_bucket,
        "in/",
        {"x.png": image_bytes("red"), "x.png/a.png": image_bytes("red")},
    )
    scan = S3Inbox(s3_client, s3_bucket, "in").scan()
    assert [c.source_name for c in scan.characters] == ["x.png"]
    assert scan.characters[0].images[0].name == "a.png"
    assert [(e.path, e.kind) for e in scan.skipped] == [("x.png", SkipKind.NAME_CONFLICT)]


def test_s3_object_removed_after_listing(s3_inbox: S3Inbox, s3_client: S3Client) -> None:
    knight = by_source(s3_inbox.scan())["red-knight"]
    s3_client.delete_object(Bucket=s3_inbox.bucket, Key=knight.images[0].ref)
    with pytest.raises(InboxError, match="no longer exists"):
        s3_inbox.read_bytes(knight.images[0])


def test_fingerprint_follows_images_and_spec_only(local_inbox: LocalInbox) -> None:
    root = local_inbox.root
    before = by_source(local_inbox.scan())["red-knight"]

    (root / "red-knight/notes.txt").write_text("edited notes")
    assert by_source(local_inbox.scan())["red-knight"].fingerprint == before.fingerprint

    (root / "red-knight/front.png").write_bytes(image_bytes("crimson", size=(30, 30)))
    changed = by_source(local_inbox.scan())["red-knight"]
    assert changed.fingerprint != before.fingerprint

    (root / "red-knight/character.yaml").write_text("display_name: Someone Else\n")
    spec_changed = by_source(local_inbox.scan())["red-knight"]
    assert spec_changed.fingerprint != changed.fingerprint

    (root / "red-knight/back.webp").write_bytes(image_bytes("red", "WEBP"))
    added = by_source(local_inbox.scan())["red-knight"]
    assert added.fingerprint != spec_changed.fingerprint
    assert len(added.images) == 3


def test_fingerprint_ignores_other_characters(local_inbox: LocalInbox) -> None:
    before = {c.key: c.fingerprint for c in local_inbox.list_characters()}
    write_tree(local_inbox.root, {"Newcomer/a.png": image_bytes("gold")})
    after = {c.key: c.fingerprint for c in local_inbox.list_characters()}
    assert len(after) == len(before) + 1
    assert all(after[key] == fingerprint for key, fingerprint in before.items())


def test_content_hash_reads_bytes_and_ignores_touch(local_inbox: LocalInbox) -> None:
    knight = by_source(local_inbox.scan())["red-knight"]
    digest = content_hash(local_inbox, knight)
    front = Path(knight.images[0].ref)
    os.utime(front, ns=(1_000_000_000, 1_000_000_000))
    touched = by_source(local_inbox.scan())["red-knight"]
    assert touched.fingerprint != knight.fingerprint  # mtime moved: cheap check says "maybe"
    assert content_hash(local_inbox, touched) == digest  # bytes say "no"
    front.write_bytes(image_bytes("black"))
    assert content_hash(local_inbox, by_source(local_inbox.scan())["red-knight"]) != digest


def snapshot(root: Path) -> list[tuple[str, int, int, str]]:
    """Every entry under root with size, mtime and content hash."""
    rows = []
    for path in sorted(root.rglob("*")):
        stat = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
        rows.append((str(path.relative_to(root)), stat.st_size, stat.st_mtime_ns, digest))
    return rows


def test_local_inbox_is_never_modified(local_inbox: LocalInbox) -> None:
    root = local_inbox.root
    before = snapshot(root)
    root_mtime = root.stat().st_mtime_ns
    for character in local_inbox.list_characters():
        content_hash(local_inbox, character)
        for file in character.images:
            with contextlib.suppress(SourceImageError):
                normalise_image(local_inbox.read_bytes(file), name=file.name)
    assert snapshot(root) == before
    assert root.stat().st_mtime_ns == root_mtime


def test_s3_inbox_is_never_modified(s3_inbox: S3Inbox, s3_client: S3Client) -> None:
    def listing() -> list[tuple[str, str, int]]:
        pages = s3_client.get_paginator("list_objects_v2").paginate(Bucket=s3_inbox.bucket)
        return [
            (obj["Key"], obj["ETag"], obj["Size"])
            for page in pages
            for obj in page.get("Contents", [])
        ]

    before = listing()
    for character in s3_inbox.list_characters():
        content_hash(s3_inbox, character)
    assert listing() == before


def test_missing_local_root(tmp_path: Path) -> None:
    with pytest.raises(InboxError, match=r"does not exist.*point CHARGEN_INBOX"):
        LocalInbox(tmp_path / "nope").scan()


def test_special_files_are_skipped_not_opened(tmp_path: Path) -> None:
    write_tree(tmp_path, {"hero/a.png": image_bytes("red")})
    os.mkfifo(tmp_path / "hero" / "pipe.png")  # opening it would block forever
    (tmp_path / "hero" / "gone.png").symlink_to(tmp_path / "missing.png")
    (tmp_path / "loose.png").symlink_to(tmp_path / "missing.png")
    scan = LocalInbox(tmp_path).scan()
    hero = by_source(scan)["hero"]
    assert [f.name for f in hero.images] == ["a.png"]
    assert {(e.path, e.kind) for e in hero.skipped} == {
        ("hero/gone.png", SkipKind.NOT_A_FILE),
        ("hero/pipe.png", SkipKind.NOT_A_FILE),
    }
    assert [(e.path, e.kind) for e in scan.skipped] == [("loose.png", SkipKind.NOT_A_FILE)]


def test_links_out_of_the_inbox_fail_their_character_and_are_never_followed(
    tmp_path: Path,
) -> None:
    inbox, elsewhere = tmp_path / "inbox", tmp_path / "elsewhere"
    write_tree(elsewhere, {"secret.png": image_bytes("red"), "crew/face.png": image_bytes("blue")})
    write_tree(inbox, {"hero/a.png": image_bytes("red"), "shared/b.png": image_bytes("blue")})
    (inbox / "hero" / "front.png").symlink_to(elsewhere / "secret.png")
    (inbox / "crew").symlink_to(elsewhere / "crew", target_is_directory=True)
    (inbox / "loose.png").symlink_to(elsewhere / "secret.png")
    (inbox / "shared" / "again.png").symlink_to(inbox / "hero" / "a.png")  # inside: fine
    characters = by_source(LocalInbox(inbox).scan())
    for name, link in (("hero", "hero/front.png"), ("crew", "crew"), ("loose.png", "loose.png")):
        error = characters[name].error
        assert error is not None and link in error and "outside the inbox" in error, error
    assert [f.name for f in characters["hero"].images] == ["a.png"]  # the link is not an image
    assert characters["shared"].error is None
    assert [f.name for f in characters["shared"].images] == ["again.png", "b.png"]


def test_a_file_that_links_out_is_refused_even_when_asked_for_directly(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    write_tree(inbox, {"hero/a.png": image_bytes("red")})
    (tmp_path / "secret.png").write_bytes(b"secret")
    (inbox / "hero" / "b.png").symlink_to(tmp_path / "secret.png")
    file = InboxFile(name="b.png", ref=str(inbox / "hero" / "b.png"), size=6, version="1")
    with pytest.raises(InboxError, match="links out of it"):
        LocalInbox(inbox).read_bytes(file)


@pytest.mark.parametrize("size", [0, 1, 999, 1000])
def test_a_local_file_is_read_whole_up_to_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    monkeypatch.setattr(sources, "MAX_READ_BYTES", 1000)
    write_tree(tmp_path, {"hero/a.png": bytes(range(256)) * 4})
    path = tmp_path / "hero" / "a.png"
    path.write_bytes(b"x" * size)
    file = InboxFile(name="a.png", ref=str(path), size=size, version="1")
    assert LocalInbox(tmp_path).read_bytes(file) == b"x" * size


def test_a_local_file_over_the_limit_is_refused_even_if_it_grew_after_listing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "MAX_READ_BYTES", 1000)
    write_tree(tmp_path, {"hero/a.png": b"x" * 10})
    file = LocalInbox(tmp_path).list_characters()[0].images[0]
    (tmp_path / "hero" / "a.png").write_bytes(b"x" * 1001)
    with pytest.raises(InboxError, match=r"hero/a\.png: 1,001 bytes is more than"):
        LocalInbox(tmp_path).read_bytes(file)


def _age(root: Path, seconds: int = 60) -> None:
    """Set every time under `root` well in the past, as an inbox untouched for a while."""
    then = time.time_ns() - seconds * 1_000_000_000
    for path in [root, *root.rglob("*")]:
        os.utime(path, ns=(then, then), follow_symlinks=False)


def test_an_unchanged_local_inbox_is_known_without_listing_it_again(tmp_path: Path) -> None:
    write_tree(tmp_path, {"ash/front.png": image_bytes("red"), "brook/a.png": image_bytes("blue")})
    _age(tmp_path)
    first = LocalInbox(tmp_path).scan(remember=True)
    assert LocalInbox(tmp_path).scan() is first  # a new source over the same folder, as per tick


def test_a_scan_is_remembered_only_when_asked(tmp_path: Path) -> None:
    """A run lists the inbox without keeping every character's entries for its whole life."""
    write_tree(tmp_path, {"ash/front.png": image_bytes("red")})
    _age(tmp_path)
    first = LocalInbox(tmp_path).scan()
    assert LocalInbox(tmp_path).scan() is not first


@pytest.mark.parametrize(
    "change",
    ["rewrite in place", "same size, new time", "add a file", "remove a file", "add a folder"],
)
def test_every_kind_of_change_makes_a_new_scan(tmp_path: Path, change: str) -> None:
    write_tree(tmp_path, {"ash/front.png": image_bytes("red"), "brook/a.png": image_bytes("blue")})
    _age(tmp_path)
    first = LocalInbox(tmp_path).scan(remember=True)
    front = tmp_path / "ash" / "front.png"
    if change == "rewrite in place":
        front.write_bytes(image_bytes("green", size=(30, 40)))
    elif change == "same size, new time":
        os.utime(front, ns=(time.time_ns() - 10**9, time.time_ns() - 10**9))
    elif change == "add a file":
        (tmp_path / "ash" / "side.png").write_bytes(image_bytes("red"))
    elif change == "remove a file":
        (tmp_path / "brook" / "a.png").unlink()
        (tmp_path / "brook" / "b.png").write_bytes(image_bytes("blue"))
    else:
        write_tree(tmp_path, {"cole/a.png": image_bytes("red")})
    second = LocalInbox(tmp_path).scan()
    assert second is not first
    assert {c.key: c.fingerprint for c in second.characters} != {
        c.key: c.fingerprint for c in first.characters
    }


def test_a_recently_touched_or_linked_inbox_is_listed_again_each_time(tmp_path: Path) -> None:
    write_tree(tmp_path, {"ash/front.png": image_bytes("red")})
    first = LocalInbox(tmp_path).scan(remember=True)  # just written: a change could hide
    assert LocalInbox(tmp_path).scan() is not first
    (tmp_path / "ash" / "broken.png").symlink_to(tmp_path / "nowhere.png")
    _age(tmp_path)
    first = LocalInbox(tmp_path).scan(remember=True)
    assert LocalInbox(tmp_path).scan() is not first  # the link may be mended in place


def test_reads_outside_the_inbox_are_refused(local_inbox: LocalInbox, tmp_path: Path) -> None:
    outside = tmp_path / "secret.png"
    outside.write_bytes(b"x")
    file = InboxFile(name="secret.png", ref=str(outside), size=1, version="1")
    with pytest.raises(InboxError, match="not inside the inbox"):
        local_inbox.read_bytes(file)


def test_oversized_files_are_refused_before_reading(s3_inbox: S3Inbox) -> None:
    knight = by_source(s3_inbox.scan())["red-knight"]
    huge = knight.images[0].model_copy(update={"size": 75_028_011})
    assert huge.size > MAX_READ_BYTES
    with pytest.raises(InboxError, match=r"71\.6 MiB is more than the 64 MiB"):
        s3_inbox.read_bytes(huge)


def test_odd_names_in_a_local_inbox(tmp_path: Path) -> None:
    names = ["Red Knight", "red knight", "龍", "  spaces  ", "dots...", "ÉLODIE", "élodie"]
    write_tree(tmp_path, {f"{name}/a.png": image_bytes("red") for name in names})
    characters = LocalInbox(tmp_path).list_characters()
    assert sorted(c.source_name for c in characters) == sorted(names)
    keys = [c.key for c in characters]
    assert len(set(keys)) == len(names)
    assert all(SLUG_PATTERN.fullmatch(key) for key in keys)


SAMPLES_INBOX = Path(__file__).resolve().parents[3] / "samples" / "inbox"


def test_bundled_samples_scan_cleanly() -> None:
    """The samples make_demo uses: >= 8 characters, every image usable, one that is blocked."""
    inbox = LocalInbox(SAMPLES_INBOX)
    scan = inbox.scan()
    assert scan.skipped == ()
    assert len(scan.characters) >= 8
    image_counts = set()
    formats = set()
    notes = []
    for sample in scan.characters:
        assert sample.error is None, sample.error
        image_counts.add(len(sample.images))
        for file in sample.images:
            assert file.size < 200_000
            image = normalise_image(inbox.read_bytes(file), name=file.name, character=sample.key)
            assert 512 <= max(image.width, image.height) <= 768
            formats.add(image.source_format)
        if sample.spec_file is not None:
            spec = parse_character_spec(inbox.read_bytes(sample.spec_file), sample.key)
            notes.append(spec.notes or "")
    assert formats == {"PNG", "JPEG", "WEBP"}
    assert {1, 2, 3} <= image_counts
    assert sum("gory" in note.split() for note in notes) == 1  # the emulator blocks this one
    assert any(sample.source_name.endswith(".jpg") for sample in scan.characters)  # loose image
    assert sum(path.stat().st_size for path in SAMPLES_INBOX.rglob("*") if path.is_file()) < 3e6


def test_what_is_not_a_character_is_listed_for_the_user_hidden_files_aside(
    tmp_path: Path,
) -> None:
    for name in ("a", "b", "c"):
        (tmp_path / f"empty-{name}").mkdir()
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / ".hidden").write_text("x")
    scan = LocalInbox(tmp_path).scan()
    told = scan.not_characters(shown=2)
    assert told is not None and told.startswith("not characters: empty-a: empty folder")
    assert told.endswith("; and 2 more") and ".hidden" not in told
    assert LocalInbox(tmp_path / "empty-a").scan().not_characters() is None


def test_a_folder_with_only_its_character_yaml_says_it_found_the_yaml(tmp_path: Path) -> None:
    write_tree(tmp_path, {"only-yaml/character.yaml": b"notes: x\n"})
    (character,) = LocalInbox(tmp_path).list_characters()
    assert character.error is not None
    assert "'only-yaml': no reference image (found: character.yaml)" in character.error


def test_a_file_over_the_limit_is_told_by_its_real_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "MAX_READ_BYTES", 1000)
    write_tree(tmp_path, {"hero/a.png": b"x" * 5000})
    file = LocalInbox(tmp_path).list_characters()[0].images[0]
    with pytest.raises(InboxError, match=r"hero/a\.png: 5,000 bytes is more than"):
        LocalInbox(tmp_path).read_bytes(file)


def test_a_name_that_is_not_utf8_is_skipped_by_name_and_the_rest_go_on(tmp_path: Path) -> None:
    """Names from another encoding (an old zip, a network share) arrive as bytes Python cannot
    encode again: the folder, or the one file, is reported for renaming; nothing else stops."""
    root = os.fsencode(tmp_path)
    write_tree(tmp_path, {"hero/front.png": image_bytes("red"), "ash/a.png": image_bytes("grey")})
    os.mkdir(root + b"/latin1-\xe9")
    (Path(os.fsdecode(root + b"/latin1-\xe9")) / "a.png").write_bytes(image_bytes("blue"))
    Path(os.fsdecode(root + b"/hero/side-\xe9.png")).write_bytes(image_bytes("red"))
    scan = LocalInbox(tmp_path).scan()
    assert sorted(c.source_name for c in scan.characters) == ["ash", "hero"]
    hero = by_source(scan)["hero"]
    assert [f.name for f in hero.images] == ["front.png"]
    assert [(e.path, e.kind) for e in hero.skipped] == [
        ("hero/side-\\xe9.png", SkipKind.UNREADABLE_NAME)
    ]
    assert [(e.path, e.kind) for e in scan.skipped] == [("latin1-\\xe9", SkipKind.UNREADABLE_NAME)]
    told = scan.not_characters()
    assert told is not None and "latin1-\\xe9: its name is not valid UTF-8" in told
    scan.model_dump_json()  # everything in it can be written out (the run's metadata, the CLI)


def test_one_name_in_two_unicode_forms_keeps_the_composed_one(tmp_path: Path) -> None:
    """`Zoë` written composed (Linux, Windows) and decomposed (macOS) would be one partition
    key: the composed folder is the character, the other is reported as a conflict."""
    composed, decomposed = "Zo\u00eb", "Zoe\u0308"
    write_tree(
        tmp_path,
        {
            f"{composed}/a.png": image_bytes("red"),
            f"{decomposed}/b.png": image_bytes("blue"),
            "ash/a.png": image_bytes("grey"),
        },
    )
    scan = LocalInbox(tmp_path).scan()
    assert sorted(c.source_name for c in scan.characters) == ["Zo\u00eb", "ash"]
    (conflict,) = scan.skipped
    assert (conflict.path, conflict.kind) == (decomposed, SkipKind.NAME_CONFLICT)
    assert f"the same name as '{composed}' beside it, its letters encoded" in conflict.reason


def test_a_link_loop_is_left_out_like_a_broken_link(tmp_path: Path) -> None:
    write_tree(tmp_path, {"hero/a.png": image_bytes("red")})
    (tmp_path / "selfloop").symlink_to(tmp_path / "selfloop")
    (tmp_path / "hero" / "loop.png").symlink_to(tmp_path / "hero" / "loop.png")
    scan = LocalInbox(tmp_path).scan()
    assert [c.source_name for c in scan.characters] == ["hero"]
    assert [(e.path, e.kind) for e in scan.skipped] == [("selfloop", SkipKind.NOT_A_FILE)]
    assert [(e.path, e.kind) for e in by_source(scan)["hero"].skipped] == [
        ("hero/loop.png", SkipKind.NOT_A_FILE)
    ]


def test_a_missing_bucket_is_told_with_how_to_make_it(s3_client: S3Client) -> None:
    with pytest.raises(InboxError, match=r"bucket 'no-such-bucket' does not exist; create it"):
        S3Inbox(s3_client, "no-such-bucket", "inbox").scan()


STYLE_TREE: dict[str, bytes | None] = {
    "_style/style.yaml": b"notes: ink and wash\n",
    "_style/palette.png": image_bytes("olive"),
    "_style/moodboard.pdf": b"%PDF-1.4",
}


def test_the_style_folder_alone_is_what_a_whole_scan_finds(
    local_inbox: LocalInbox,
    s3_inbox: S3Inbox,
    s3_client: S3Client,
    s3_bucket: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert local_inbox.style() is None and s3_inbox.style() is None
    write_tree(local_inbox.root, STYLE_TREE)
    upload_tree(s3_client, s3_bucket, "team/inbox/", STYLE_TREE)
    for inbox in (local_inbox, s3_inbox):
        alone = inbox.style()
        assert alone is not None and alone == inbox.scan().style
        assert [image.name for image in alone.images] == ["palette.png"]
        assert [skip.path for skip in alone.skipped] == ["_style/moodboard.pdf"]

    # Only the root and `_style/` are listed locally, only `_style/`'s prefix on S3.
    listed: list[str] = []
    scandir = os.scandir

    def counted(path: str) -> Iterator[os.DirEntry[str]]:
        listed.append(Path(path).name)
        return scandir(path)

    monkeypatch.setattr(os, "scandir", counted)
    local_inbox.style()
    assert listed == ["inbox", "_style"]
    prefixes: list[str] = []
    s3_client.meta.events.register(
        "before-parameter-build.s3.ListObjectsV2",
        lambda params, **_: prefixes.append(params["Prefix"]),
    )
    s3_inbox.style()
    assert set(prefixes) == {"team/inbox/_style/"}


def test_a_style_folder_that_links_out_is_seen_alone_as_in_a_scan(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "palette.png").write_bytes(image_bytes("olive"))
    root = tmp_path / "inbox"
    root.mkdir()
    (root / "_style").symlink_to(outside)
    inbox = LocalInbox(root)
    alone = inbox.style()
    assert alone is not None and alone == inbox.scan().style
    assert [skip.kind for skip in alone.skipped] == [SkipKind.LINK_OUTSIDE]


def test_a_misnamed_style_folder_is_not_a_character_to_pay_for(tmp_path: Path) -> None:
    write_tree(tmp_path, {"_Style/style.yaml": b"notes: x\n", "_Style/a.png": image_bytes("red")})
    write_tree(tmp_path, {"ash/front.png": image_bytes("grey")})
    scan = LocalInbox(tmp_path).scan()
    assert [c.source_name for c in scan.characters] == ["ash"] and scan.style is None
    assert [(e.path, e.kind) for e in scan.skipped] == [("_Style", SkipKind.NAME_CONFLICT)]
    assert "named exactly '_style'" in scan.skipped[0].reason


def test_a_folder_without_a_usable_image_says_why_its_likeliest_sketch_was_not_taken(
    tmp_path: Path,
) -> None:
    write_tree(
        tmp_path,
        {
            "psd-one/front.psd": b"8BPS",
            "nested-one/sketches/front.png": image_bytes("red"),
        },
    )
    characters = by_source(LocalInbox(tmp_path).scan())
    psd = characters["psd-one"].error
    assert psd is not None and "front.psd: PSD images are not supported; export it" in psd
    nested = characters["nested-one"].error
    assert nested is not None and "sketches: sub-folders are not read" in nested
