"""Start the emulator inside the current process, on a daemon thread."""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType

from chargen_resources.emulator.context import EmulatorContext
from chargen_resources.emulator.http_server import EmulatorServer
from chargen_resources.emulator.settings import EmulatorSettings


class RunningEmulator:
    """A started emulator; use as a context manager or call ``stop()``."""

    def __init__(self, server: EmulatorServer, thread: threading.Thread, state_dir: Path) -> None:
        self._server = server
        self._thread = thread
        self.state_dir = state_dir
        host, port = server.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else str(host)
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        self.host = str(shown)
        self.port = int(port)
        self.base_url = f"http://{shown}:{port}"
        self.settings = server.context.settings

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> RunningEmulator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_emulator(
    state_dir: Path,
    settings: EmulatorSettings | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> RunningEmulator:
    """Serve the emulated Gemini API over ``state_dir`` on ``host:port`` (0 = a free port)."""
    context = EmulatorContext.create(Path(state_dir), settings or EmulatorSettings())
    server = EmulatorServer((host, port), context)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="chargen-emulator",
        daemon=True,
    )
    thread.start()
    return RunningEmulator(server, thread, Path(state_dir))
