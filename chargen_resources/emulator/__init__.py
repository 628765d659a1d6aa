"""An offline emulator of the Gemini Developer API subset chargen uses (files, batches,
generateContent and its SSE stream), driven by the real google-genai SDK over HTTP.

Start it embedded with ``start_emulator(state_dir)`` or as ``chargen-emulator serve``. State lives
on disk, so several processes may serve one state directory. Fault markers: see ``faults``;
the safety word list: see ``safety``; the shared clock: see ``clock``.
"""

from chargen_resources.emulator.embedded import RunningEmulator, start_emulator
from chargen_resources.emulator.faults import MARKER
from chargen_resources.emulator.safety import BLOCKED_WORDS
from chargen_resources.emulator.settings import EmulatorSettings

__all__ = ["BLOCKED_WORDS", "MARKER", "EmulatorSettings", "RunningEmulator", "start_emulator"]
