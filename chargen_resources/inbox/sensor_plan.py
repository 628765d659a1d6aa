"""What one tick of the inbox sensor should do, as a pure function of the listing and cursor.

- Run keys are ``<key>@<fingerprint>``: Dagster never launches two runs with the same run key
  for a sensor, so unchanged content never runs twice, even if the cursor is lost.
- The cursor remembers each character's fingerprint, so a tick over thousands of unchanged
  characters emits nothing. It is compressed JSON (``v1:`` + base64 of zlib) holding 12 hex
  digits per character: 15-25 bytes per character after compression (110 KB for 5000).
- Characters that left the inbox are dropped from the cursor; their partitions are kept
  (Dagster history must stay), and if they come back unchanged, the run key dedupes them.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, ValidationError

from chargen_resources.inbox.sources import InboxCharacter

CURSOR_PREFIX = "v1:"
# Change detection only needs to notice that the fingerprint moved; 48 bits is plenty.
CURSOR_FINGERPRINT_LENGTH = 12


class CursorState(BaseModel):
    """The decoded sensor cursor: partition key -> shortened fingerprint."""

    model_config = ConfigDict(frozen=True)

    fingerprints: dict[str, str] = {}


class CharacterRunRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    partition_key: str
    run_key: str


class TickPlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    new_partitions: list[str]  # to add to the `characters` partitions before the runs
    requests: list[CharacterRunRequest]  # sorted by partition key
    cursor: str
    unchanged: int = 0
    removed: list[str] = []  # in the previous cursor, gone from the inbox now


def encode_cursor(fingerprints: dict[str, str]) -> str:
    state = CursorState(
        fingerprints={
            key: fingerprint[:CURSOR_FINGERPRINT_LENGTH]
            for key, fingerprint in sorted(fingerprints.items())
        }
    )
    packed = zlib.compress(state.model_dump_json().encode(), level=9)
    return CURSOR_PREFIX + base64.b64encode(packed).decode("ascii")


def decode_cursor(cursor: str | None) -> CursorState:
    """The state in ``cursor``; an absent, old or damaged cursor reads as empty.

    Starting from empty is safe: every character is requested again and the run keys make
    Dagster skip the ones already run.
    """
    if not cursor or not cursor.startswith(CURSOR_PREFIX):
        return CursorState()
    try:
        packed = base64.b64decode(cursor[len(CURSOR_PREFIX) :], validate=True)
        return CursorState.model_validate_json(zlib.decompress(packed))
    except (binascii.Error, zlib.error, ValidationError, ValueError):
        return CursorState()


def run_key_for(character: InboxCharacter) -> str:
    return f"{character.key}@{character.fingerprint}"


def plan_tick(
    characters: Sequence[InboxCharacter], cursor: str | None, known_partitions: set[str]
) -> TickPlan:
    """New partitions, run requests and the next cursor for the current inbox listing.

    A character is requested when its fingerprint differs from the cursor's or its partition
    does not exist yet (e.g. after the instance was wiped).
    """
    current: dict[str, InboxCharacter] = {}
    for character in characters:
        if character.key in current:
            raise ValueError(
                f"two inbox entries share the partition key '{character.key}' "
                f"('{current[character.key].source_name}' and '{character.source_name}'); "
                "list them through one InboxSource scan so keys are assigned together"
            )
        current[character.key] = character

    previous = decode_cursor(cursor).fingerprints
    requests: list[CharacterRunRequest] = []
    for key in sorted(current):
        character = current[key]
        remembered = previous.get(key)
        if remembered == character.fingerprint[:CURSOR_FINGERPRINT_LENGTH] and (
            key in known_partitions
        ):
            continue
        requests.append(CharacterRunRequest(partition_key=key, run_key=run_key_for(character)))

    removed = sorted(key for key in previous if key not in current)
    # Nothing requested and nothing gone: the cursor already holds exactly these fingerprints
    # (compressing thousands of them again is most of an unchanged tick's work).
    unchanged_cursor = cursor if previous and not requests and not removed else None
    return TickPlan(
        new_partitions=sorted(key for key in current if key not in known_partitions),
        requests=requests,
        cursor=unchanged_cursor
        or encode_cursor({key: c.fingerprint for key, c in current.items()}),
        unchanged=len(current) - len(requests),
        removed=removed,
    )
