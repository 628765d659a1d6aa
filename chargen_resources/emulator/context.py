"""Everything an API handler needs, built once per running emulator."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from chargen_resources.emulator.batch_runner import BatchRunner
from chargen_resources.emulator.batch_store import BatchStore
from chargen_resources.emulator.billing import Billing
from chargen_resources.emulator.clock import EmulatorClock
from chargen_resources.emulator.downloads import DownloadCuts
from chargen_resources.emulator.faults import FailureCounters
from chargen_resources.emulator.file_store import FileStore
from chargen_resources.emulator.settings import EmulatorSettings


@dataclass
class EmulatorContext:
    settings: EmulatorSettings
    state_dir: Path
    clock: EmulatorClock
    files: FileStore
    batches: BatchStore
    runner: BatchRunner
    failures: FailureCounters
    billing: Billing
    download_cuts: DownloadCuts

    @classmethod
    def create(cls, state_dir: Path, settings: EmulatorSettings) -> EmulatorContext:
        state_dir.mkdir(parents=True, exist_ok=True)
        clock = EmulatorClock(state_dir, settings.clock_offset_seconds)
        files = FileStore(state_dir, clock)
        batches = BatchStore(state_dir, clock)
        billing = Billing(state_dir)
        return cls(
            settings=settings,
            state_dir=state_dir,
            clock=clock,
            files=files,
            batches=batches,
            runner=BatchRunner(batches, files, settings, billing),
            failures=FailureCounters(state_dir, settings),
            billing=billing,
            download_cuts=DownloadCuts(settings.cut_downloads),
        )
