"""Every knob of the emulator in one pydantic model, readable from CHARGEN_EMULATOR_* variables."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ENV_PREFIX = "CHARGEN_EMULATOR_"

ImageDelivery = Literal["whole", "fragmented", "cumulative"]
BatchOutcome = Literal["normal", "failed", "expired", "stuck", "late-output"]
FailStatus = Literal[429, 500, 503]


_BOOLEAN_FIELDS = {"require_api_key", "download_ranges"}


class EmulatorSettings(BaseModel):
    """Server-wide behaviour. Per-request and per-batch markers (see ``faults``) override these."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    pending_seconds: float = Field(
        default=1.0, ge=0, description="How long a new batch stays PENDING."
    )
    running_seconds: float = Field(
        default=3.0, ge=0, description="How long a batch then stays RUNNING."
    )
    image_delivery: ImageDelivery = Field(
        default="whole", description="How streamed images travel: whole, fragmented or cumulative."
    )
    stream_fragments: int = Field(
        default=4, ge=1, le=64, description="Events per image when not whole."
    )
    latency_seconds: float = Field(
        default=0.0, ge=0, description="Sleep before answering any API call."
    )
    draft_images: int | None = Field(
        default=None,
        ge=0,
        le=2,
        description="Thought draft images per image answer; unset = by hash.",
    )
    fail_next_requests: int = Field(
        default=0, ge=0, description="Fail this many API calls from start."
    )
    fail_status: FailStatus = Field(
        default=503, description="HTTP status used by fail_next_requests."
    )
    fail_path_contains: str = Field(
        default="",
        description="Only calls whose path contains this text count for fail_next_requests.",
    )
    batch_outcome: BatchOutcome = Field(
        default="normal",
        description="How every new batch ends unless its display name says otherwise.",
    )
    late_output_seconds: float = Field(
        default=2.0,
        ge=0,
        description="With late-output: how long SUCCEEDED precedes its output file.",
    )
    clock_offset_seconds: float = Field(
        default=0.0, description="Added to the wall clock (on top of the shared on-disk offset)."
    )
    require_api_key: bool = Field(
        default=True, description="Refuse API calls without x-goog-api-key."
    )
    download_bytes_per_second: float = Field(
        default=0.0,
        ge=0,
        description="Bandwidth of each file download (0 = as fast as the disk); for benchmarks.",
    )
    download_ranges: bool = Field(
        default=False,
        description=(
            "Honour a 'Range: bytes=N-' on downloads with 206. Off by default: the live "
            "service is not known to honour it on media downloads."
        ),
    )
    cut_downloads: int = Field(
        default=0, ge=0, description="Drop the connection midway through this many downloads."
    )
    cut_download_fraction: float = Field(
        default=0.5,
        gt=0,
        lt=1,
        description="With cut_downloads: the share of the body sent before the cut.",
    )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> EmulatorSettings:
        """Read CHARGEN_EMULATOR_<FIELD> variables (for example CHARGEN_EMULATOR_PENDING_SECONDS)."""
        source = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for field_name in cls.model_fields:
            raw = source.get(ENV_PREFIX + field_name.upper())
            if raw is None:
                continue
            raw = raw.strip()
            if field_name == "draft_images" and raw == "":
                values[field_name] = None
            elif field_name == "fail_status":
                values[field_name] = int(raw)
            elif field_name in _BOOLEAN_FIELDS:
                values[field_name] = raw.lower() in {"1", "true", "yes", "on"}
            else:
                values[field_name] = raw
        return cls.model_validate(values)


def env_variable_name(field_name: str) -> str:
    return ENV_PREFIX + field_name.upper()
