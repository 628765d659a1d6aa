"""Where things live in the store: pure functions from names to keys.

    <prefix>/<asset>/<partition>.<ext>                 a partitioned artifact
    <prefix>/<asset>.<ext>                             an unpartitioned artifact
    <prefix>/_dead_letters/<asset>/<partition>.json    why a partition failed
    <prefix>/_ledger/<name>/.../<name>.json            durable bookkeeping (claims, jobs, uploads)
    <prefix>/<asset>/<partition>/takes/NN.<ext>        every take of an image, kept
    <prefix>/_staging/<area>/<index>.<ext>             answer images a reader holds until kept
    <prefix>/_catalog/index.json.gz                    what the last catalog read, per character

`asset_name` may have several '/'-separated components (a multi-part asset key); `prefix` may be
'' for the store root. Every result is a validated key.
"""

from __future__ import annotations

from chargen_resources.storage.keys import validate_key, validate_segment

DEAD_LETTERS_DIR = "_dead_letters"
LEDGER_DIR = "_ledger"
STAGING_DIR = "_staging"
CATALOG_INDEX = "_catalog/index.json.gz"
# Zero padding keeps staged files in submission order when keys are listed lexicographically.
STAGING_INDEX_WIDTH = 6


def _join(prefix: str, *parts: str) -> str:
    # A trailing '/' on the prefix is a harmless habit; anything else odd is rejected below.
    return validate_key("/".join(part for part in (prefix.rstrip("/"), *parts) if part))


def _extension(ext: str) -> str:
    return validate_segment(ext.removeprefix("."), "file extension")


def takes_folder(prefix: str, asset_name: str, partition: str) -> str:
    """`<prefix>/<asset>/<partition>/takes/`: every generated take of one partition, kept."""
    stem = validate_segment(partition, "partition key")
    return _join(prefix, asset_name, stem, "takes") + "/"


def take_key(prefix: str, asset_name: str, partition: str, take: int, ext: str) -> str:
    """`<prefix>/<asset>/<partition>/takes/NN.<ext>`."""
    return validate_key(
        f"{takes_folder(prefix, asset_name, partition)}{take:02d}.{_extension(ext)}"
    )


def artifact_key(prefix: str, asset_name: str, partition: str | None, ext: str) -> str:
    """`<prefix>/<asset>/<partition>.<ext>`, or `<prefix>/<asset>.<ext>` when unpartitioned."""
    suffix = _extension(ext)
    if partition is None:
        return _join(prefix, f"{asset_name}.{suffix}")
    stem = validate_segment(partition, "partition key")
    return _join(prefix, asset_name, f"{stem}.{suffix}")


def artifact_stem(prefix: str, asset_name: str, partition: str | None) -> str:
    """The artifact key without its extension (for finding which format was stored)."""
    return artifact_key(prefix, asset_name, partition, "x").removesuffix(".x")


def dead_letter_key(prefix: str, asset_name: str, partition: str) -> str:
    """`<prefix>/_dead_letters/<asset>/<partition>.json`."""
    stem = validate_segment(partition, "partition key")
    return _join(prefix, DEAD_LETTERS_DIR, asset_name, f"{stem}.json")


def dead_letters_folder(prefix: str) -> str:
    """`<prefix>/_dead_letters/`: every stage's dead letters (listing prefix)."""
    return _join(prefix, DEAD_LETTERS_DIR) + "/"


def beside_results(prefix: str, relative: str) -> str:
    """`<prefix>/<relative>`: a file chargen writes for people next to the results."""
    return _join(prefix, relative)


def catalog_index_key(prefix: str) -> str:
    """`<prefix>/_catalog/index.json.gz`: the catalog's memory of what it last read."""
    return _join(prefix, CATALOG_INDEX)


def ledger_key(prefix: str, *names: str) -> str:
    """`<prefix>/_ledger/<name>/.../<last>.json`: one JSON document of the ledger."""
    *folders, last = names
    segments = [validate_segment(name, "ledger name") for name in folders]
    return _join(prefix, LEDGER_DIR, *segments, f"{validate_segment(last, 'ledger name')}.json")


def ledger_folder(prefix: str, *names: str) -> str:
    """`<prefix>/_ledger/<name>/.../`: the listing prefix of a group of ledger documents."""
    segments = [validate_segment(name, "ledger name") for name in names]
    return _join(prefix, LEDGER_DIR, *segments) + "/"


def staging_folder(prefix: str, job: str) -> str:
    """`<prefix>/_staging/<job>/`: everything staged for one job (listing prefix)."""
    return _join(prefix, STAGING_DIR, validate_segment(job, "staging job name")) + "/"


def staging_key(prefix: str, job: str, index: int, ext: str) -> str:
    """`<prefix>/_staging/<job>/<index>.<ext>`, index zero-padded so listings sort in order."""
    if index < 0:
        raise ValueError(f"Staging index must be >= 0, got {index} for job {job!r}.")
    name = f"{index:0{STAGING_INDEX_WIDTH}d}.{_extension(ext)}"
    return _join(prefix, STAGING_DIR, validate_segment(job, "staging job name"), name)
