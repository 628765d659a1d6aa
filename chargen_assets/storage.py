"""Dagster face of chargen storage: a resource that knows where artifacts live, and an IO manager.

`ChargenStorage` is the one place that turns config (local folder or S3 bucket, key prefix) into a
`BlobStore`, and it writes/reads artifacts with the same codecs and key layout as
`ChargenIOManager`. chargen's own assets store through it themselves (each character's result is
stored before its materialization is logged).

`ChargenIOManager` is for assets a studio adds on top (README, "Building on top"): it accepts
what the stock UPath IO managers reject (issue 14332), an output that covers several partitions,
given as a dict keyed by partition key, and inputs spanning several partitions, returned as such
a dict.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin

import dagster as dg
from dagster_aws.s3 import S3Resource
from pydantic import BaseModel, PrivateAttr

from chargen_resources.storage.blob_store import (
    IO_THREADS,
    BlobNotFoundError,
    BlobStore,
    LocalBlobStore,
    S3BlobStore,
)
from chargen_resources.storage.codecs import (
    PngImage,
    decode,
    encode,
    extensions_for,
    is_table,
    is_table_type,
)
from chargen_resources.storage.documents import get_model, put_model
from chargen_resources.storage.layout import (
    artifact_key,
    artifact_stem,
    dead_letter_key,
    dead_letters_folder,
)
from chargen_resources.storage.locations import DEFAULT_PREFIX, DEFAULT_STORAGE
from chargen_resources.streaming.ahead import worked_ahead

AssetName = str | dg.AssetKey
_MISSING = object()
ModelT = TypeVar("ModelT", bound=BaseModel)
READ_AHEAD = 256  # artifacts read ahead of their consumer by `iter_artifacts`
# Value types the IO manager stores one file per partition for; `dict[str, T]` of these is
# unambiguously "one T per partition" rather than a JSON object; polars tables too
# (`is_table_type`, so that polars is not imported for the check).
ARTIFACT_TYPES: tuple[type, ...] = (BaseModel, PngImage)


class ArtifactNotFoundError(LookupError):
    """No stored artifact for an asset partition."""


@dataclass(frozen=True, slots=True)
class StoredArtifact:
    """Where one artifact was written and how big it is."""

    key: str
    uri: str
    size_bytes: int
    ext: str


def asset_path(asset: AssetName) -> str:
    """'a/b' for AssetKey(['a', 'b']); strings pass through."""
    return "/".join(asset.path) if isinstance(asset, dg.AssetKey) else asset


def _describe(asset: AssetName, partition: str | None) -> str:
    where = f"partition '{partition}'" if partition is not None else "(unpartitioned)"
    return f"asset '{asset_path(asset)}' {where}"


class ChargenStorage(dg.ConfigurableResource):
    """Where chargen keeps its artifacts: a local folder (default) or an S3 bucket."""

    backend: Literal["local", "s3"] = "local"
    local_root: str = DEFAULT_STORAGE
    s3_bucket: str | None = None
    prefix: str = DEFAULT_PREFIX
    # Only for backend "s3" (None: ambient AWS credentials and region). Left None for a local
    # folder: Dagster builds a nested resource again on every sensor tick, at several ms each.
    s3: S3Resource | None = None

    _store: BlobStore | None = PrivateAttr(default=None)

    def store(self) -> BlobStore:
        """The BlobStore for this config, built once per resource instance."""
        if self._store is None:
            self._store = self._build_store()
        return self._store

    def _build_store(self) -> BlobStore:
        if self.backend == "local":
            return LocalBlobStore(Path(self.local_root))
        if not self.s3_bucket:
            raise dg.DagsterInvalidConfigError(
                "ChargenStorage(backend='s3') needs s3_bucket: set it in the resource config "
                "(for example s3_bucket=EnvVar('CHARGEN_S3_BUCKET')), or use backend='local'.",
                [],
                None,
            )
        return S3BlobStore((self.s3 or S3Resource()).get_client(), self.s3_bucket)

    # --- keys -------------------------------------------------------------------------------

    def artifact_key(self, asset: AssetName, partition: str | None, ext: str) -> str:
        return artifact_key(self.prefix, asset_path(asset), partition, ext)

    def dead_letter_key(self, asset: AssetName, partition: str) -> str:
        return dead_letter_key(self.prefix, asset_path(asset), partition)

    # --- artifacts --------------------------------------------------------------------------

    def store_artifact(
        self, asset: AssetName, partition: str | None, value: object
    ) -> StoredArtifact:
        """Encode `value` in its native format and write it at the asset's key."""
        encoded = encode(value)
        key = self.artifact_key(asset, partition, encoded.ext)
        store = self.store()
        store.put_bytes(key, encoded.data, encoded.content_type)
        return StoredArtifact(key, store.uri(key), len(encoded.data), encoded.ext)

    def read_artifact(
        self, asset: AssetName, partition: str | None, target_type: object = None
    ) -> Any:
        """Read what `store_artifact` stored, validated into `target_type` when given.

        The file extension is found by trying the formats `target_type` allows, in the fixed
        order json, png, parquet; the first that exists wins.
        """
        store = self.store()
        stem = artifact_stem(self.prefix, asset_path(asset), partition)
        candidates = [f"{stem}.{ext}" for ext in extensions_for(target_type)]
        for key in candidates:
            try:
                data = store.get_bytes(key)
            except BlobNotFoundError:
                continue
            return decode(data, key.rpartition(".")[2], target_type)
        partition_hint = f" --partition {partition}" if partition is not None else ""
        raise ArtifactNotFoundError(
            f"No stored artifact for {_describe(asset, partition)}: looked for "
            f"{', '.join(store.uri(key) for key in candidates)}. Materialize "
            f"'{asset_path(asset)}'{' for that partition' if partition is not None else ''} "
            f"first (UI, or `dagster asset materialize --select {asset_path(asset)}"
            f"{partition_hint}`)."
        )

    def store_artifacts(
        self, asset: AssetName, values: Mapping[str, object]
    ) -> list[StoredArtifact]:
        """`store_artifact` for many partitions (concurrently; S3 latency adds up otherwise)."""
        self.store()  # build the client once, before the threads share it
        return list(
            worked_ahead(
                lambda key: self.store_artifact(asset, key, values[key]),
                sorted(values),
                threads=IO_THREADS,
                name="store",
            )
        )

    def stored_versions(self, asset: AssetName, target_type: object = None) -> dict[str, str]:
        """The partitions of `asset` with an artifact `target_type` can be read from, each with
        its stored version (a token that changes whenever it is written again): one listing of
        the asset's folder, not one lookup per partition."""
        folder = artifact_stem(self.prefix, asset_path(asset), None) + "/"
        extensions = list(extensions_for(target_type))
        found: dict[str, tuple[int, str]] = {}  # partition -> (its format's rank, version)
        for name, version in self.store().list_versions(folder).items():
            stem, dot, ext = name.rpartition(".")
            if dot and ext in extensions:
                # The format `read_artifact` would read, when several are stored.
                ranked = (extensions.index(ext), version)
                found[stem] = min(found.get(stem, ranked), ranked)
        return {stem: version for stem, (_, version) in found.items()}

    def read_artifacts(
        self,
        asset: AssetName,
        partitions: Iterable[str],
        target_type: object = None,
        missing_ok: bool = False,
    ) -> dict[str, Any]:
        """`read_artifact` for many partitions, as a dict in sorted partition order.

        With `missing_ok`, partitions without an artifact are left out instead of raising.
        """
        return dict(self.iter_artifacts(asset, partitions, target_type, missing_ok))

    def iter_artifacts(
        self,
        asset: AssetName,
        partitions: Iterable[str],
        target_type: object = None,
        missing_ok: bool = False,
    ) -> Iterator[tuple[str, Any]]:
        """(partition, artifact) in sorted partition order, read concurrently at most a few
        hundred ahead: a caller that keeps only some (or keeps them packed) never holds them all."""
        ordered = sorted(partitions)

        def read(key: str) -> Any:
            try:
                return self.read_artifact(asset, key, target_type)
            except ArtifactNotFoundError:
                if missing_ok:
                    return _MISSING
                raise

        for key, value in worked_ahead(
            lambda key: (key, read(key)),
            ordered,
            threads=self.store().parallel_reads,
            depth=READ_AHEAD,
            name="read",
        ):
            if value is not _MISSING:
                yield key, value

    # --- dead letters -----------------------------------------------------------------------

    def write_dead_letter(self, asset: AssetName, partition: str, record: BaseModel) -> str:
        """Keep why a partition failed, as JSON beside the artifacts; returns the key."""
        key = self.dead_letter_key(asset, partition)
        put_model(self.store(), key, record)
        return key

    def read_dead_letter(
        self, asset: AssetName, partition: str, cls: type[ModelT]
    ) -> ModelT | None:
        """The failure record kept for a partition, or None if it has none."""
        try:
            return get_model(self.store(), self.dead_letter_key(asset, partition), cls)
        except BlobNotFoundError:
            return None

    def dead_lettered(self) -> dict[str, set[str]]:
        """Partition -> the assets that keep a failure record for it, from one listing."""
        folder = dead_letters_folder(self.prefix)
        found: dict[str, set[str]] = {}
        for key in self.store().list_keys(folder):
            asset, _, name = key.removeprefix(folder).rpartition("/")
            found.setdefault(name.removesuffix(".json"), set()).add(asset)
        return found

    def dead_letter_versions(self, asset: AssetName) -> dict[str, str]:
        """Partition -> the version of its failure record for `asset` (one listing)."""
        folder = f"{dead_letters_folder(self.prefix)}{asset_path(asset)}/"
        return {
            name.removesuffix(".json"): version
            for name, version in self.store().list_versions(folder).items()
            if name.endswith(".json")
        }

    def clear_dead_letter(self, asset: AssetName, partition: str) -> None:
        """Forget an earlier failure (call once the partition succeeds)."""
        self.store().delete(self.dead_letter_key(asset, partition))


def _input_annotation(context: dg.InputContext) -> object:
    """The Python type the input is annotated with; None when unknown or unresolved."""
    annotation = context.dagster_type.typing_type
    return None if isinstance(annotation, str) else annotation


def _mapping_value_type(annotation: object) -> tuple[bool, object]:
    """(True, T) for dict[str, T] / Mapping[str, T]; (False, annotation) otherwise."""
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is not None and isinstance(origin, type) and issubclass(origin, Mapping):
        return True, args[1] if len(args) == 2 else None
    return False, annotation


def _is_artifact_type(value_type: object) -> bool:
    return isinstance(value_type, type) and (
        issubclass(value_type, ARTIFACT_TYPES) or is_table_type(value_type)
    )


def _per_partition_values(
    value: object, partition_keys: list[str], asset: dg.AssetKey
) -> Mapping[str, object] | None:
    """The dict keyed by partition if `value` is one, None if it is a single bare value."""
    if isinstance(value, Mapping) and set(value) == set(partition_keys):
        return value
    if len(partition_keys) == 1:
        return None
    if not isinstance(value, Mapping):
        raise dg.DagsterInvariantViolationError(
            f"Asset '{asset_path(asset)}' ran for {len(partition_keys)} partitions but returned "
            f"one {type(value).__name__}. Return a dict keyed by partition key "
            "({key: value for key in context.partition_keys}), with None for partitions the "
            "asset stored itself."
        )
    missing = sorted(set(partition_keys) - set(value))
    extra = sorted(set(value) - set(partition_keys))
    raise dg.DagsterInvariantViolationError(
        f"Asset '{asset_path(asset)}' returned a dict that does not match the run's partitions: "
        f"missing {missing[:10]}{' ...' if len(missing) > 10 else ''}, "
        f"unexpected {extra[:10]}{' ...' if len(extra) > 10 else ''}. Return one entry per "
        "partition in context.partition_keys (None where the asset stored the value itself)."
    )


class ChargenIOManager(dg.ConfigurableIOManager):
    """Stores each partition's value natively at `<prefix>/<asset>/<partition>.<ext>`.

    Output: a run over several partitions must return a dict keyed by partition key (None for
    a partition the asset stored itself); a one-partition run may return the bare value or such
    a dict (a dict whose keys are exactly the run's partition keys is read as per-partition).
    Input: several upstream partitions give a dict in sorted key order; one gives the bare
    value, unless the input is annotated `dict[str, T]` with T a model, PngImage or DataFrame.
    """

    storage: ChargenStorage

    def handle_output(self, context: dg.OutputContext, obj: object) -> None:
        if obj is None:
            return  # the asset stored its data itself (or has nothing to store)
        asset = context.asset_key
        if not context.has_asset_partitions:
            context.add_output_metadata(
                _metadata(self.storage.store_artifact(asset, None, obj), obj)
            )
            return
        partition_keys = list(context.asset_partition_keys)
        by_partition = _per_partition_values(obj, partition_keys, asset)
        if by_partition is None:
            stored = self.storage.store_artifact(asset, partition_keys[0], obj)
            context.add_output_metadata(_metadata(stored, obj))
            return
        to_store = {key: value for key, value in by_partition.items() if value is not None}
        written = self.storage.store_artifacts(asset, to_store)
        if len(partition_keys) == 1 and written:
            context.add_output_metadata(_metadata(written[0], to_store[partition_keys[0]]))
        elif written:
            # Dagster copies this metadata to every partition of the run: summarise.
            context.add_output_metadata(_summary_metadata(written))

    def load_input(self, context: dg.InputContext) -> Any:
        asset = context.asset_key
        annotation = _input_annotation(context)
        is_mapping, value_type = _mapping_value_type(annotation)
        if not context.has_asset_partitions:
            return self.storage.read_artifact(asset, None, annotation)
        partition_keys = sorted(context.asset_partition_keys)
        # A `dict[str, Model]` input always gets a dict, even for one partition, so asset code
        # written for single-run backfills needs no special case.
        wants_dict = len(partition_keys) > 1 or (is_mapping and _is_artifact_type(value_type))
        if not wants_dict:
            return self.storage.read_artifact(asset, partition_keys[0], annotation)
        target = value_type if is_mapping else None
        # A cast-wide asset can ask to see only the characters that have this result yet
        # (`AssetIn(metadata={"allow_missing_partitions": True})`); otherwise a gap is an error.
        missing_ok = bool((context.definition_metadata or {}).get("allow_missing_partitions"))
        return self.storage.read_artifacts(asset, partition_keys, target, missing_ok=missing_ok)


def _metadata(only: StoredArtifact, value: object) -> dict[str, Any]:
    """Output metadata for a run that stored exactly one artifact."""
    metadata: dict[str, Any] = {
        "storage_key": only.key,
        "storage_uri": dg.MetadataValue.path(only.uri),
        "stored_bytes": only.size_bytes,
    }
    if is_table(value):
        metadata["dagster/row_count"] = value.height
    return metadata


def _summary_metadata(written: list[StoredArtifact]) -> dict[str, Any]:
    """Output metadata for a run over several partitions: small, true for each of them."""
    return {
        "partitions_stored": len(written),
        "stored_bytes_total": sum(item.size_bytes for item in written),
        "storage_key_pattern": _key_pattern(written[0]),
    }


def _key_pattern(sample: StoredArtifact) -> str:
    folder = sample.key.rpartition("/")[0]
    return f"{folder}/{{partition}}.{sample.ext}" if folder else f"{{partition}}.{sample.ext}"
