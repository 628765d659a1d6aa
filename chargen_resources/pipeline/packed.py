"""A stage's results held packed: compressed JSON per character, unpacked one at a time.

A run holds each stage's results until the stages that read them are done. As pydantic models
an image record takes about 7 KB and a prompt 3 KB (objects, field sets, small strings); as
compressed JSON, under 1 KB each. Reading one back is one decompress and one validation, the
same round trip every stored result already makes through storage.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


class PackedModels(MutableMapping[str, M]):
    """key -> model, kept as compressed JSON; each read returns a fresh, equal model."""

    def __init__(self) -> None:
        self._packed: dict[str, tuple[type[M], bytes]] = {}

    def __setitem__(self, key: str, value: M) -> None:
        self._packed[key] = (type(value), zlib.compress(value.model_dump_json().encode(), 1))

    def __getitem__(self, key: str) -> M:
        model, packed = self._packed[key]
        return model.model_validate_json(zlib.decompress(packed))

    def __delitem__(self, key: str) -> None:
        del self._packed[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._packed)

    def __len__(self) -> int:
        return len(self._packed)

    def __contains__(self, key: object) -> bool:
        return key in self._packed  # without unpacking

    def only(self, keys: Iterable[str]) -> PackedModels[M]:
        """These keys' results, still packed (the packed bytes are shared, not copied)."""
        subset: PackedModels[M] = PackedModels()
        subset._packed = {key: self._packed[key] for key in keys if key in self._packed}
        return subset


V = TypeVar("V")


def only(results: Mapping[str, V], keys: Iterable[str]) -> Mapping[str, V]:
    """`results` for these keys alone, without unpacking packed ones."""
    if isinstance(results, PackedModels):
        return results.only(keys)
    return {key: results[key] for key in keys if key in results}
