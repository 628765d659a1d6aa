"""Partition keys for characters, made from folder and file names.

A key must be safe for Dagster (no ``/``, ``,`` or ``|``; see dagster-notes.md) and must never
change once a character has it, because Dagster keeps history per partition key: if a key moved
from one folder to another, the newcomer would inherit the old character's lineage.

Stability rule. Two different names can slug to the same text ("Red Knight", "red-knight"), and
a key that depends only on its own name is the only way for it never to change when another
name appears. So:

- a name that already *is* a valid slug (``red-knight``, ``ghost_07``) is its own key;
- every other name gets its slug plus ``-`` and 8 hex digits of a hash of the name
  (``Red Knight`` -> ``red-knight-<hash>``), whatever else is in the inbox.

Users who want a tidy key name the folder in slug form; everyone else still gets a readable,
unique, permanent key.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable

SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
MAX_SLUG_LENGTH = 64
HASH_LENGTH = 8
FALLBACK_PREFIX = "character"

_NOT_SLUG_CHARS = re.compile(r"[^a-z0-9_]+")
_DASH_RUNS = re.compile(r"-{2,}")


def name_hash(name: str, length: int = HASH_LENGTH) -> str:
    """Short hex digest of a name, the same whatever Unicode normal form the filesystem used.

    macOS stores names decomposed (NFD), most other systems composed (NFC); both must give the
    same key.
    """
    canonical = unicodedata.normalize("NFC", name)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:length]


def slugify(name: str) -> str:
    """Lowercase ASCII slug of ``name`` matching ``SLUG_PATTERN``, at most ``MAX_SLUG_LENGTH``.

    Accents are folded (``Élodie`` -> ``elodie``), anything else that is not a letter, digit or
    underscore becomes ``-``. A name with nothing usable (``...``, ``龍``) falls back to
    ``character-<hash>`` so the result is never empty.
    """
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    dashed = _DASH_RUNS.sub("-", _NOT_SLUG_CHARS.sub("-", ascii_text.lower()))
    slug = dashed[:MAX_SLUG_LENGTH].strip("-_")
    if not slug:
        return f"{FALLBACK_PREFIX}-{name_hash(name)}"
    return slug


def is_canonical(name: str) -> bool:
    """True when ``name`` is already a valid slug, so it can be its own key."""
    return len(name) <= MAX_SLUG_LENGTH and SLUG_PATTERN.fullmatch(name) is not None


def _suffixed(base_name: str, name: str, hash_length: int) -> str:
    """``slug(base_name)-<hash of name>``, within ``MAX_SLUG_LENGTH``."""
    suffix = name_hash(name, hash_length)
    base_slug = slugify(base_name)
    if base_slug == f"{FALLBACK_PREFIX}-{name_hash(base_name)}":
        base_slug = FALLBACK_PREFIX  # nothing usable in the name: don't repeat the hash
    room = MAX_SLUG_LENGTH - hash_length - 1
    head = base_slug[:room].rstrip("-_") or FALLBACK_PREFIX
    return f"{head}-{suffix}"


def partition_key_for(name: str, *, base_name: str | None = None) -> str:
    """The permanent key of one name (see the module docstring for the rule).

    ``base_name`` is what the slug is made from when it differs from the identifying name, e.g.
    the stem of a loose image file (``hermit.png`` -> slug of ``hermit``).
    """
    if base_name is None and is_canonical(name):
        return name
    return _suffixed(name if base_name is None else base_name, name, HASH_LENGTH)


def assign_partition_keys(
    names: Iterable[str], *, base_name: Callable[[str], str | None] | None = None
) -> dict[str, str]:
    """Map each distinct name to its partition key.

    ``base_name(name)`` may give the text to slug instead of the name (the stem of a loose
    image file); returning None means "the name itself".

    Keys depend only on their own name (see module docstring), so adding names never changes
    existing keys and the listing order does not matter. The only remaining clash is an 8-hex
    hash collision; the names involved then get a longer hash, decided on sorted names.
    """
    unique = sorted(set(names))
    bases = {name: None if base_name is None else base_name(name) for name in unique}
    keys = {name: partition_key_for(name, base_name=bases[name]) for name in unique}
    owners: dict[str, list[str]] = {}
    for name in unique:
        owners.setdefault(keys[name], []).append(name)
    for key, clashing in owners.items():
        if len(clashing) < 2:
            continue
        for name in clashing:
            if name == key:
                continue  # a canonical name keeps its key; only the hashed ones move
            keys[name] = _suffixed(bases[name] or name, name, 2 * HASH_LENGTH)
    return keys
