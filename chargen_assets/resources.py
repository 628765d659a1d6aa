"""Dagster resources: thin configuration shells over chargen_resources' plain clients."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import dagster as dg
from dagster_aws.s3 import S3Resource
from pydantic import Field, PrivateAttr, field_validator

from chargen_resources.characters.artifacts import Backend
from chargen_resources.gemini.batch_jobs import BatchJobRunner, PollPolicy
from chargen_resources.gemini.connection import (
    ConnectionSettings,
    GeminiConnection,
    backend_of,
    connect,
)
from chargen_resources.gemini.ledger import Ledger
from chargen_resources.gemini.models import DEFAULT_ANALYSIS_MODEL, DEFAULT_IMAGE_MODEL
from chargen_resources.gemini.uploads import UploadCache
from chargen_resources.inbox.sources import InboxSource, LocalInbox, S3Inbox
from chargen_resources.storage.locations import DEFAULT_INBOX
from chargen_resources.streaming import GoogleGenAIApiAdapter, StreamingGenerateClient

_announced: set[str] = set()


class GeminiBatchResource(dg.ConfigurableResource):
    """The Gemini API through google-genai; without a key, the embedded emulator.

    The key comes from the environment (`GEMINI_API_KEY`) and is never logged or echoed.
    """

    api_key: str | None = Field(default=None, description="Leave unset to use the emulator.")
    base_url: str | None = Field(default=None, description="Send requests here instead.")
    analysis_model: str = DEFAULT_ANALYSIS_MODEL
    image_model: str = DEFAULT_IMAGE_MODEL
    poll_interval_seconds: float = 5.0
    max_poll_interval_seconds: float = 60.0
    job_timeout_seconds: float = 26 * 3600.0
    request_timeout_seconds: float = 300.0
    retry_attempts: int = 5
    delete_uploads_after_success: bool = Field(
        default=True,
        description=(
            "Delete a batch job's input file and the sketches uploaded for it from the Files "
            "API once the job ends (results stored, or the job failed)."
        ),
    )
    emulator_state_dir: str = ".chargen/emulator"
    monthly_budget_usd: float | None = Field(
        default=None,
        description=(
            "A budget per calendar month (UTC) shared by every run and process: each run "
            "reserves its estimate before sending and settles it with what it paid. Unset: no "
            "budget. Environment: CHARGEN_MONTHLY_BUDGET_USD."
        ),
    )
    max_run_cost_usd: float | None = Field(
        default=None,
        description=(
            "Refuse a run whose estimated cost (at its own prices) is above this many dollars: "
            "nothing is sent. Unset: no ceiling. Environment: CHARGEN_MAX_RUN_COST_USD."
        ),
    )

    @field_validator("monthly_budget_usd", "max_run_cost_usd")
    @classmethod
    def _an_amount(cls, value: float | None) -> float | None:
        """A guard must hold: nan compares false with every cost, so it would let all through."""
        if value is not None and (not math.isfinite(value) or value < 0):
            raise ValueError(f"{value} is not an amount of dollars (a number, 0 or more)")
        return value

    _connection: GeminiConnection | None = PrivateAttr(default=None)
    _backend: Backend | None = PrivateAttr(default=None)

    def _settings(self) -> ConnectionSettings:
        return ConnectionSettings(
            api_key=self.api_key or None,
            base_url=self.base_url or None,
            emulator_state_dir=Path(self.emulator_state_dir),
            retry_attempts=self.retry_attempts,
            request_timeout_seconds=self.request_timeout_seconds,
        )

    def backend(self) -> Backend:
        """Who answers this resource's requests; known without connecting (a sensor's
        estimate asks it and sends nothing), and asked once: for a `base_url` it is a round
        trip to that server."""
        if self._backend is None:
            self._backend = backend_of(self._settings())
        return self._backend

    def connection(self) -> GeminiConnection:
        if self._connection is None:
            self._connection = connect(self._settings(), self.backend())
            message = self._connection.describe()
            if message not in _announced:  # say it once per process, not per step
                _announced.add(message)
                dg.get_dagster_logger().info(message)
        return self._connection

    def runner(
        self,
        ledger: Ledger,
        log: logging.Logger,
        run_id: str,
        run_over: Callable[[str], bool],
    ) -> BatchJobRunner:
        return BatchJobRunner(
            client=self.connection().client,
            ledger=ledger,
            poll=PollPolicy(
                initial_interval=self.poll_interval_seconds,
                max_interval=self.max_poll_interval_seconds,
                timeout=self.job_timeout_seconds,
            ),
            log=log.info,
            delete_files=self.delete_uploads_after_success,
            run_id=run_id,
            run_over=run_over,
        )

    def streaming_client(self) -> StreamingGenerateClient:
        """Interactive calls (streamGenerateContent), request bodies streamed in slices."""
        return StreamingGenerateClient(GoogleGenAIApiAdapter(self.connection().client))

    def upload_cache(self, ledger: Ledger) -> UploadCache:
        return UploadCache(client=self.connection().client, ledger=ledger)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._connection is not None:
            self._connection.client.close()
            self._connection = None


class InboxResource(dg.ConfigurableResource):
    """Where reference sketches arrive: a local folder, or an S3 prefix. Only ever read."""

    backend: Literal["local", "s3"] = "local"
    local_root: str = DEFAULT_INBOX
    s3_bucket: str | None = None
    s3_prefix: str = ""
    s3: S3Resource | None = None  # as ChargenStorage.s3: only for backend "s3"

    def source(self) -> InboxSource:
        if self.backend == "s3":
            if not self.s3_bucket:
                raise dg.Failure("inbox backend is 's3' but no s3_bucket is configured")
            return S3Inbox((self.s3 or S3Resource()).get_client(), self.s3_bucket, self.s3_prefix)
        return LocalInbox(Path(self.local_root).resolve())
