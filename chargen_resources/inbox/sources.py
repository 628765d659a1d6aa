"""Reading the inbox: a local folder or an S3 prefix, listed into characters. Never written to.

Layout (the same for both sources)::

    <root>/
      red-knight/            a character: 1+ reference images and an optional character.yaml
        front.png
        side.JPG
        character.yaml
      hermit.webp            a loose image at the root: a one-image character
      _style/                the cast's style guide (not a character): style images and
        style.yaml           style.yaml, read by the `cast_style` asset
      .DS_Store              hidden: ignored, reported as skipped

Policy for files that are not reference images:

- hidden files and folders (leading ``.``) are ignored everywhere; they are reported as
  ``hidden`` skips so nothing vanishes without a trace;
- any other file in a character folder that is not a ``.png/.jpg/.jpeg/.webp`` image or the
  spec file (``notes.txt``, ``pose.gif``, a nested folder) is a **warning**: it is listed in
  ``InboxCharacter.skipped`` with the reason, and the character proceeds with its images.
  People keep working files beside their sketches; failing the character for a ``notes.txt``
  would punish a harmless habit;
- a character folder with no reference image at all is an **error** for that character
  (``InboxCharacter.error``): it is still listed, so the run can report it by name;
- a folder with nothing visible in it is not a character yet (a copy may be under way); it is
  reported as an ``empty_folder`` skip of the scan.

Whether an image's *content* is usable (corrupt, animated, too large...) is decided later by
``chargen_resources.inbox.images.normalise_image``.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, BinaryIO, Protocol, runtime_checkable

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict

from chargen_resources.gc_pause import cycle_collection_paused
from chargen_resources.inbox.character_spec import SPEC_FILE_NAMES
from chargen_resources.inbox.slugs import assign_partition_keys
from chargen_resources.inbox.style_spec import STYLE_FOLDER, STYLE_SPEC_NAMES

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
# Formats people commonly drop in that we refuse by name, so the message can say what to do.
KNOWN_UNSUPPORTED_IMAGE_SUFFIXES = (
    ".gif", ".bmp", ".tif", ".tiff", ".heic", ".heif", ".avif", ".svg", ".psd", ".ico",
)  # fmt: skip
# Largest file we read into memory. Reference sketches are a few MB; anything bigger is a
# mistake (a video, a raw scan) and would only be rejected after an expensive read.
MAX_READ_BYTES = 64 * 1024 * 1024


def _read_at_most(handle: BinaryIO, limit: int) -> bytes:
    """The file's bytes, at most `limit` + 1 (one more tells a file over the limit).

    Sized from the file, not the limit: `read(limit + 1)` would reserve the whole limit (64 MiB)
    for every small sketch. A file that grew since it was measured is read on to the limit."""
    size = os.fstat(handle.fileno()).st_size
    data = handle.read(min(size, limit) + 1)
    if size < len(data) <= limit:
        data += handle.read(limit + 1 - len(data))
    return data


class InboxError(RuntimeError):
    """The inbox itself cannot be read (missing folder, unreadable file)."""


class SkipKind(StrEnum):
    HIDDEN = "hidden"
    NOT_AN_IMAGE = "not_an_image"
    UNSUPPORTED_IMAGE = "unsupported_image"
    NESTED_FOLDER = "nested_folder"
    DUPLICATE_SPEC = "duplicate_spec"
    EMPTY_FOLDER = "empty_folder"
    NAME_CONFLICT = "name_conflict"
    UNREADABLE_NAME = "unreadable_name"
    NOT_A_FILE = "not_a_file"
    LINK_OUTSIDE = "link_outside"


class SkippedEntry(BaseModel):
    """Something in the inbox that was not used, and why (user-facing)."""

    model_config = ConfigDict(frozen=True)

    path: str  # relative to the inbox root, with "/" separators
    kind: SkipKind
    reason: str


class InboxFile(BaseModel):
    """One file as listed, before it is read. ``version`` changes whenever the content may have."""

    model_config = ConfigDict(frozen=True)

    name: str  # file name, no folder
    ref: str  # absolute local path, or the S3 object key
    size: int
    version: str  # "<mtime_ns>-<size>" locally, the ETag on S3


class InboxCharacter(BaseModel):
    """A character as found in the inbox: its reference images and optional spec file."""

    model_config = ConfigDict(frozen=True)

    key: str  # the partition key, see slugs.py
    source_name: str  # folder name, or the file name of a loose image
    images: tuple[InboxFile, ...]
    spec_file: InboxFile | None = None
    skipped: tuple[SkippedEntry, ...] = ()

    @cached_property
    def fingerprint(self) -> str:
        """Cheap content version from names, sizes and versions: no file is read.

        Used for sensor run keys: it changes when any image or the spec changes, is added or is
        removed, and not for skipped files (they do not affect the result). Computed once per
        listed character (a sensor tick asks for it several times; the model is frozen).
        """
        listed = [("image", f.name, f.size, f.version) for f in self.images]
        if self.spec_file is not None:
            spec = self.spec_file
            listed.append(("spec", spec.name, spec.size, spec.version))
        encoded = json.dumps(listed, separators=(",", ":"), ensure_ascii=True).encode()
        return hashlib.sha256(encoded).hexdigest()[:16]

    @property
    def error(self) -> str | None:
        """Why this character cannot be made at all, or None."""
        escaping = [entry for entry in self.skipped if entry.kind is SkipKind.LINK_OUTSIDE]
        if escaping:
            return (
                f"character '{self.source_name}': {escaping[0].path} {escaping[0].reason}. "
                "Put the file or folder itself in the inbox (a copy, not a link) and re-run"
            )
        if self.images:
            return None
        present = [entry.path.rsplit("/", 1)[-1] for entry in self.skipped]
        if self.spec_file is not None:
            present.insert(0, self.spec_file.name)
        found = ", ".join(present) or "nothing"
        # What the user most likely meant to be the sketch: the reason it was not taken.
        meant = [
            f"{entry.path.rsplit('/', 1)[-1]}: {entry.reason}. "
            for entry in self.skipped
            if entry.kind in (SkipKind.UNSUPPORTED_IMAGE, SkipKind.NESTED_FOLDER)
        ][:1]
        return (
            f"character '{self.source_name}': no reference image (found: {found}). "
            + "".join(meant)
            + f"Add at least one {'/'.join(s[1:].upper() for s in IMAGE_SUFFIXES)} file "
            f"directly inside the folder '{self.source_name}'."
        )

    @property
    def warnings(self) -> tuple[str, ...]:
        """One line per file that was left out (hidden files are not worth a warning)."""
        return tuple(
            f"{entry.path}: {entry.reason}"
            for entry in self.skipped
            if entry.kind is not SkipKind.HIDDEN
        )


class InboxScan(BaseModel):
    """Everything a scan found: the characters, and what was skipped at the root."""

    model_config = ConfigDict(frozen=True)

    characters: tuple[InboxCharacter, ...]
    skipped: tuple[SkippedEntry, ...] = ()
    # The cast's style guide (`_style/`: style images and style.yaml), when there is one.
    style: InboxCharacter | None = None

    def not_characters(self, shown: int = 5) -> str | None:
        """What at the inbox root is not a character and why (hidden files aside), for the
        user who dropped it there and sees nothing happen; None when there is nothing."""
        unused = [skip for skip in self.skipped if skip.kind is not SkipKind.HIDDEN]
        if not unused:
            return None
        listed = "; ".join(f"{skip.path}: {skip.reason}" for skip in unused[:shown])
        more = f"; and {len(unused) - shown} more" if len(unused) > shown else ""
        return f"not characters: {listed}{more}"


@runtime_checkable
class InboxSource(Protocol):
    """Where reference sketches come from. Implementations only ever read."""

    @property
    def description(self) -> str:
        """Human-readable location for messages, e.g. ``s3://bucket/prefix/``."""
        ...

    def scan(self, remember: bool = False) -> InboxScan:
        """The inbox now. `remember`: keep this scan for the next call in this process, where
        that makes the next one cheaper (the inbox sensor, tick after tick)."""
        ...

    def style(self) -> InboxCharacter | None:
        """The `_style/` folder alone, as `scan().style` gives it, without listing every
        character: a run's estimate and the rebuild sensor ask for it once per run."""
        ...

    def list_characters(self) -> list[InboxCharacter]: ...

    def read_bytes(self, file: InboxFile) -> bytes: ...


# --- listing -> characters (pure) -------------------------------------------------------------


@dataclass(frozen=True)
class ListedEntry:
    """A raw listing row: its path parts under the root, and the file (None for a folder)."""

    parts: tuple[str, ...]
    file: InboxFile | None
    special: bool = False  # a pipe, socket, device or broken link: never opened
    escapes_to: str | None = None  # a link that resolves outside the inbox: never followed


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def _is_image_name(name: str) -> bool:
    return name.lower().endswith(IMAGE_SUFFIXES)


def _not_image_reason(name: str) -> tuple[SkipKind, str]:
    supported = ", ".join(IMAGE_SUFFIXES)
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in KNOWN_UNSUPPORTED_IMAGE_SUFFIXES:
        return (
            SkipKind.UNSUPPORTED_IMAGE,
            f"{suffix[1:].upper()} images are not supported; export it as PNG, JPEG or WEBP "
            f"({supported}) to use it",
        )
    return (
        SkipKind.NOT_AN_IMAGE,
        f"not a reference image (only {supported} and {SPEC_FILE_NAMES[0]} are read); "
        "it was left out",
    )


_NOT_A_FILE = "not a regular file (a broken link, pipe, device or link loop); it was left out"
_UNREADABLE_NAME = (
    "its name is not valid UTF-8 (it came from a system with another encoding, an old zip "
    "or a network share); rename it"
)


def _readable(name: str) -> bool:
    """False for a name the filesystem gave as bytes that are not UTF-8 (Python keeps them as
    lone surrogates, which nothing downstream can encode)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shown(path: str) -> str:
    """A path fit to print, an unreadable byte as `\\xe9`."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _loose_base_name(name: str) -> str | None:
    return PurePosixPath(name).stem if _is_image_name(name) else None


@dataclass
class _Folder:
    images: list[InboxFile]
    specs: list[InboxFile]
    skipped: dict[str, SkippedEntry]
    visible: int = 0


def build_scan(entries: Iterable[ListedEntry]) -> InboxScan:
    """Group a raw listing into characters (see the module docstring for the rules)."""
    folders: dict[str, _Folder] = {}
    loose: dict[str, InboxFile] = {}
    root_skips: dict[str, SkippedEntry] = {}

    ordered = sorted(entries, key=lambda entry: (len(entry.parts), entry.parts))
    for entry in ordered:
        top, rest = entry.parts[0], entry.parts[1:]
        if not all(_readable(part) for part in entry.parts[:2]) and not _is_hidden(top):
            # The folder (and all in it), or one file of a character: the others go on.
            unreadable = entry.parts[:1] if not _readable(top) else entry.parts[:2]
            path = _shown("/".join(unreadable))
            skip = SkippedEntry(path=path, kind=SkipKind.UNREADABLE_NAME, reason=_UNREADABLE_NAME)
            if len(unreadable) == 1:
                root_skips.setdefault(path, skip)
            else:
                folder = folders.setdefault(top, _Folder([], [], {}))
                folder.visible += 1
                folder.skipped[path] = skip
            continue
        if entry.escapes_to is not None and not _is_hidden(top):
            # The character exists (so it can fail, by name), but the link is never read.
            folder = folders.setdefault(top, _Folder([], [], {}))
            path = "/".join(entry.parts[:2])
            folder.visible += 1
            folder.skipped[path] = SkippedEntry(
                path=path,
                kind=SkipKind.LINK_OUTSIDE,
                reason=f"is a link to {entry.escapes_to}, outside the inbox, and was not followed",
            )
            continue
        if _is_hidden(top):
            root_skips.setdefault(
                top, SkippedEntry(path=top, kind=SkipKind.HIDDEN, reason="hidden")
            )
            continue
        if entry.special:
            path = "/".join(entry.parts[:2])
            target = (
                root_skips if not rest else folders.setdefault(top, _Folder([], [], {})).skipped
            )
            target[path] = SkippedEntry(path=path, kind=SkipKind.NOT_A_FILE, reason=_NOT_A_FILE)
            continue
        if not rest:
            if entry.file is None:
                folders.setdefault(top, _Folder([], [], {}))
            elif _is_image_name(top):
                loose[top] = entry.file
            else:
                kind, reason = _not_image_reason(top)
                root_skips[top] = SkippedEntry(
                    path=top, kind=kind, reason=f"{reason}; characters are folders of images"
                )
            continue
        folder = folders.setdefault(top, _Folder([], [], {}))
        specs = STYLE_SPEC_NAMES if top == STYLE_FOLDER else SPEC_FILE_NAMES
        _add_to_folder(folder, top, rest, entry.file, specs)

    for name in list(loose):
        if name in folders:  # S3 allows "x.png" and "x.png/..." side by side
            del loose[name]
            root_skips[name] = SkippedEntry(
                path=name,
                kind=SkipKind.NAME_CONFLICT,
                reason="a folder has the same name; rename the file or the folder",
            )
    for name, folder in list(folders.items()):
        if folder.visible == 0:
            del folders[name]
            root_skips[name] = SkippedEntry(
                path=name,
                kind=SkipKind.EMPTY_FOLDER,
                reason="empty folder: not a character until it holds an image",
            )

    for name, kept in _same_names_in_other_forms([*folders, *loose]).items():
        folders.pop(name, None)
        loose.pop(name, None)
        root_skips[name] = SkippedEntry(
            path=name,
            kind=SkipKind.NAME_CONFLICT,
            reason=f"the same name as '{kept}' beside it, its letters encoded another way "
            "(macOS writes accents as separate marks); merge the two or rename one",
        )

    for name in [name for name in folders if name.casefold() == STYLE_FOLDER != name]:
        # `_Style/` is a style guide misnamed (macOS keeps whatever case was typed), not a
        # character to pay for.
        del folders[name]
        root_skips[name] = SkippedEntry(
            path=name,
            kind=SkipKind.NAME_CONFLICT,
            reason=f"only a folder named exactly '{STYLE_FOLDER}' is the cast's style guide; "
            "rename it",
        )
    style_folder = folders.pop(STYLE_FOLDER, None)
    style = (
        _folder_character(STYLE_FOLDER, STYLE_FOLDER, style_folder, STYLE_SPEC_NAMES)
        if style_folder is not None
        else None
    )
    keys = assign_partition_keys(
        [*folders, *loose],
        base_name=lambda name: _loose_base_name(name) if name in loose else None,
    )
    characters = [_folder_character(keys[name], name, folder) for name, folder in folders.items()]
    characters += [
        InboxCharacter(key=keys[name], source_name=name, images=(file,))
        for name, file in loose.items()
    ]
    return InboxScan(
        characters=tuple(sorted(characters, key=lambda character: character.key)),
        skipped=tuple(sorted(root_skips.values(), key=lambda skip: skip.path)),
        style=style,
    )


def _same_names_in_other_forms(names: Iterable[str]) -> dict[str, str]:
    """Names that only differ from another by Unicode normal form (macOS writes `ë` as `e` and
    a combining mark), each with the one kept instead: they would be one partition key. The
    composed spelling is kept (most systems write it), else the first in order."""
    forms: dict[str, list[str]] = {}
    for name in names:
        forms.setdefault(unicodedata.normalize("NFC", name), []).append(name)
    dropped: dict[str, str] = {}
    for composed, spellings in forms.items():
        if len(spellings) > 1:
            kept = composed if composed in spellings else min(spellings)
            dropped.update({name: kept for name in spellings if name != kept})
    return dropped


def _add_to_folder(
    folder: _Folder,
    top: str,
    rest: tuple[str, ...],
    file: InboxFile | None,
    spec_names: tuple[str, ...] = SPEC_FILE_NAMES,
) -> None:
    name = rest[0]
    path = f"{top}/{name}"
    if _is_hidden(name):
        folder.skipped.setdefault(
            path, SkippedEntry(path=path, kind=SkipKind.HIDDEN, reason="hidden")
        )
        return
    folder.visible += 1
    if len(rest) > 1 or file is None:
        folder.skipped.setdefault(
            path,
            SkippedEntry(
                path=path,
                kind=SkipKind.NESTED_FOLDER,
                reason="sub-folders are not read; move its images up into "
                f"'{top}' or make it a character folder of its own",
            ),
        )
    elif _is_image_name(name):
        folder.images.append(file)
    elif name.lower() in spec_names:
        folder.specs.append(file)
    else:
        kind, reason = _not_image_reason(name)
        folder.skipped[path] = SkippedEntry(path=path, kind=kind, reason=reason)


def _folder_character(
    key: str, name: str, folder: _Folder, spec_names: tuple[str, ...] = SPEC_FILE_NAMES
) -> InboxCharacter:
    # Prefer character.yaml over character.yml, then the exact lowercase spelling.
    specs = sorted(
        folder.specs,
        key=lambda f: (spec_names.index(f.name.lower()), f.name != f.name.lower()),
    )
    skipped = dict(folder.skipped)
    for extra in specs[1:]:
        path = f"{name}/{extra.name}"
        skipped[path] = SkippedEntry(
            path=path,
            kind=SkipKind.DUPLICATE_SPEC,
            reason=f"'{specs[0].name}' is used; delete or merge this second spec file",
        )
    return InboxCharacter(
        key=key,
        source_name=name,
        images=tuple(sorted(folder.images, key=lambda f: f.name)),
        spec_file=specs[0] if specs else None,
        skipped=tuple(sorted(skipped.values(), key=lambda skip: skip.path)),
    )


def content_hash(source: InboxSource, character: InboxCharacter, spec: bool = True) -> str:
    """SHA-256 over the bytes of the character's images and (with `spec`) its character.yaml;
    reads every file. Unlike the fingerprint it ignores touch-only changes (mtime)."""
    digest = hashlib.sha256()
    files = [("image", f) for f in character.images]
    if spec and character.spec_file is not None:
        files.append(("spec", character.spec_file))
    for role, file in files:
        data = source.read_bytes(file)
        digest.update(f"{role}\0{file.name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def _in_words(size: int) -> str:
    """A file's size as a person reads it: MiB from one MiB up, bytes below."""
    mib = 1024 * 1024
    return f"{size / mib:.1f} MiB".replace(".0 MiB", " MiB") if size >= mib else f"{size:,} bytes"


def _too_large(file: InboxFile, where: str) -> InboxError:
    return InboxError(
        f"{where}: {_in_words(file.size)} is more than the {_in_words(MAX_READ_BYTES)} a "
        "reference file may have; downscale or re-export it"
    )


# --- local folder ------------------------------------------------------------------------------


# Times this close to a scan may still move within their clock tick (filesystems keep coarse
# time); 2 s also covers filesystems with whole-second times.
RECENT_NS = 2_000_000_000


class _Watched:
    """What a listing saw, to tell later with `stat` alone whether anything changed.

    A folder's modification time moves when an entry is added, removed or renamed in it; a
    file's time or size moves when it is rewritten in place (the fingerprint reads the same
    two). A listing that met a link, a special file or an error is not remembered, nor one
    that saw a time within the last seconds: a change in the same clock tick as the one seen
    would leave that time as it was (git's "racily clean" entries). Paths are kept relative
    to the root and looked up from one open handle on it: the kernel walks two names per
    file instead of the whole absolute path (a tenth off the check at 10,000 characters)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.folders: list[tuple[str, int]] = []
        self.files: list[tuple[str, int, int]] = []
        self.sure = True
        self._recent = time.time_ns() - RECENT_NS

    def note_folder(self, path: str) -> None:
        try:
            mtime = os.stat(self.root / path).st_mtime_ns
        except OSError:
            self.sure = False
            return
        self.folders.append((path, mtime))
        self.sure = self.sure and mtime < self._recent

    def note_file(self, path: str, stat: os.stat_result) -> None:
        self.files.append((path, stat.st_mtime_ns, stat.st_size))
        self.sure = self.sure and stat.st_mtime_ns < self._recent

    def unsure(self) -> None:
        self.sure = False

    def unchanged(self) -> bool:
        try:
            root = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return False
        stat = os.stat
        try:
            with cycle_collection_paused():
                for path, mtime in self.folders:
                    if stat(path, dir_fd=root).st_mtime_ns != mtime:
                        return False
                for path, mtime, size in self.files:
                    found = stat(path, dir_fd=root)
                    if found.st_mtime_ns != mtime or found.st_size != size:
                        return False
            return True
        except OSError:  # something listed is gone
            return False
        finally:
            os.close(root)


def _is_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:  # a link loop: listed as what it is, not a folder (see `_entry`)
        return False


# The last scan of each local inbox in this process (the sensor's, tick after tick).
_REMEMBERED: dict[Path, tuple[_Watched, InboxScan]] = {}


class LocalInbox:
    """An inbox in a local folder. Files are only opened for reading."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).absolute()

    @property
    def description(self) -> str:
        return f"local folder {self.root}"

    def _escapes(self, entry: os.DirEntry[str]) -> str | None:
        """Where a link at `entry` leads when that is outside the inbox; None otherwise.
        (`is_symlink` comes from the directory listing itself: no system call per entry.)"""
        try:
            if not entry.is_symlink():
                return None
        except OSError:
            return None
        target = os.path.realpath(entry.path)
        inside = os.path.commonpath([target, os.path.realpath(self.root)])
        return None if inside == os.path.realpath(self.root) else target

    def _listing(self, watched: _Watched, only: str | None = None) -> Iterator[ListedEntry]:
        """Every entry under the root (under its top-level entry `only`, if given), noting in
        `watched` what to look at next time (each folder's modification time, taken before it
        is read; each file's time and size)."""
        if not self.root.is_dir():
            raise InboxError(
                f"inbox {self.root} does not exist or is not a folder; create it, or point "
                "CHARGEN_INBOX (or the command's --inbox) at the folder holding your character "
                "folders"
            )
        watched.note_folder(".")
        with os.scandir(self.root) as top_entries:
            for top in top_entries:
                if only is not None and top.name != only:
                    continue  # the root's listing alone carries no system call per entry
                escapes_to = self._escapes(top)
                if escapes_to is not None:
                    watched.unsure()
                    yield ListedEntry((top.name,), None, escapes_to=escapes_to)
                elif _is_folder(top):
                    yield ListedEntry((top.name,), None)
                    if _is_hidden(top.name):
                        continue
                    watched.note_folder(top.name)
                    with os.scandir(top.path) as children:
                        for child in children:
                            yield self._entry((top.name, child.name), child, watched)
                else:
                    yield self._entry((top.name,), top, watched)

    def _entry(
        self, parts: tuple[str, ...], entry: os.DirEntry[str], watched: _Watched
    ) -> ListedEntry:
        escapes_to = self._escapes(entry)
        if escapes_to is not None:
            watched.unsure()
            return ListedEntry(parts, None, escapes_to=escapes_to)
        try:
            if entry.is_dir():  # never read into: its parent's time covers it
                return ListedEntry(parts, None)
            if not entry.is_file():
                # Opening a pipe would block the sensor; list it so the skip is reported.
                watched.unsure()
                return ListedEntry(parts, None, special=True)
            stat = entry.stat()
        except OSError:  # a broken link, or removed between listing and stat
            watched.unsure()
            return ListedEntry(parts, None, special=True)
        watched.note_file(os.path.join(*parts), stat)
        file = InboxFile(
            name=entry.name,
            ref=entry.path,
            size=stat.st_size,
            version=f"{stat.st_mtime_ns}-{stat.st_size}",
        )
        return ListedEntry(parts, file)

    def scan(self, remember: bool = False) -> InboxScan:
        """The inbox now. When nothing in it changed since a remembered scan of this folder in
        this process, that scan again, known from one `stat` per folder and file instead of
        a listing (an unchanged sensor tick over 10,000 characters is then tens of ms). Only
        a caller that asks remembers: a run lists the inbox a few times and should not hold
        every character's entries for its whole life."""
        remembered = _REMEMBERED.get(self.root)
        if remembered is not None and remembered[0].unchanged():
            return remembered[1]
        watched = _Watched(self.root)
        with cycle_collection_paused():
            scan = build_scan(self._listing(watched))
        if remember and watched.sure:
            _REMEMBERED[self.root] = (watched, scan)
        else:
            _REMEMBERED.pop(self.root, None)
        return scan

    def style(self) -> InboxCharacter | None:
        with cycle_collection_paused():
            return build_scan(self._listing(_Watched(self.root), only=STYLE_FOLDER)).style

    def list_characters(self) -> list[InboxCharacter]:
        return list(self.scan().characters)

    def read_bytes(self, file: InboxFile) -> bytes:
        path = Path(file.ref)
        real_root = Path(os.path.realpath(self.root))
        if self.root not in path.parents or real_root not in Path(os.path.realpath(path)).parents:
            raise InboxError(
                f"{file.ref} is not inside the inbox {self.root} (or links out of it); "
                "refusing to read it"
            )
        where = str(path.relative_to(self.root))
        try:
            with open(path, "rb") as handle:  # read-only: the inbox is never modified
                data = _read_at_most(handle, MAX_READ_BYTES)
        except OSError as error:
            raise InboxError(
                f"{where}: could not be read ({error.strerror or error}); check that it still "
                "exists and is readable"
            ) from error
        if len(data) > MAX_READ_BYTES:
            # The listed size: the read stops one byte past the limit (it may have grown).
            raise _too_large(file.model_copy(update={"size": max(file.size, len(data))}), where)
        return data


# --- S3 prefix ---------------------------------------------------------------------------------


class S3Inbox:
    """An inbox under an S3 prefix, listed with ``list_objects_v2`` (all pages)."""

    def __init__(
        self, client: S3Client, bucket: str, prefix: str = "", *, page_size: int = 1000
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.page_size = page_size
        stripped = prefix.strip("/")
        self.prefix = f"{stripped}/" if stripped else ""

    @property
    def description(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def _listing(self, under: str = "") -> Iterator[ListedEntry]:
        """Every object under the inbox's prefix (and under `under` within it)."""
        paginator = self.client.get_paginator("list_objects_v2")
        pages = paginator.paginate(
            Bucket=self.bucket,
            Prefix=self.prefix + under,
            PaginationConfig={"PageSize": self.page_size},
        )
        for page in pages:
            for obj in page.get("Contents", []):
                relative = obj["Key"][len(self.prefix) :]
                if not relative:
                    continue
                if relative.endswith("/"):  # a "folder" marker made by consoles and tools
                    yield ListedEntry(tuple(relative.rstrip("/").split("/")), None)
                    continue
                parts = tuple(relative.split("/"))
                file = InboxFile(
                    name=parts[-1],
                    ref=obj["Key"],
                    size=obj["Size"],
                    version=obj["ETag"].strip('"'),
                )
                yield ListedEntry(parts, file)

    def scan(self, remember: bool = False) -> InboxScan:
        # Nothing is remembered: a bucket's listing is itself the cheapest check for changes.
        return self._scanned()

    def style(self) -> InboxCharacter | None:
        return self._scanned(under=f"{STYLE_FOLDER}/").style

    def _scanned(self, under: str = "") -> InboxScan:
        try:
            with cycle_collection_paused():
                return build_scan(self._listing(under))
        except ClientError as error:
            raise InboxError(self._unlisted(error)) from None

    def _unlisted(self, error: ClientError) -> str:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "NoSuchBucket":
            return (
                f"the inbox's bucket '{self.bucket}' does not exist; create it (`aws s3 mb "
                f"s3://{self.bucket}`, with --endpoint-url for MinIO or another S3-compatible "
                "store) or point CHARGEN_INBOX at the bucket holding your character folders"
            )
        message = error.response.get("Error", {}).get("Message", "")
        return (
            f"the inbox {self.description} could not be listed ({code}: {message}); check "
            "CHARGEN_INBOX, CHARGEN_S3_ENDPOINT_URL and that the credentials may list the bucket"
        )

    def list_characters(self) -> list[InboxCharacter]:
        return list(self.scan().characters)

    def read_bytes(self, file: InboxFile) -> bytes:
        where = f"s3://{self.bucket}/{file.ref}"
        if not file.ref.startswith(self.prefix):
            raise InboxError(f"{where} is not inside the inbox {self.description}")
        if file.size > MAX_READ_BYTES:
            raise _too_large(file, where)
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=file.ref)
        except self.client.exceptions.NoSuchKey as error:
            raise InboxError(
                f"{where}: no longer exists (removed after the inbox was listed); "
                "the next sensor tick will pick up the change"
            ) from error
        return response["Body"].read()
