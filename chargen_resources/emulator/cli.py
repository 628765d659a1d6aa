"""``chargen-emulator``: serve the emulator, or move its shared clock.

    chargen-emulator serve --host 127.0.0.1 --port 8910 --state-dir ./.emulator [--pending-seconds 0 ...]
    chargen-emulator clock --state-dir ./.emulator --advance 172800

Every ``serve`` flag defaults to its CHARGEN_EMULATOR_* environment variable, then to the
built-in default.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from pydantic import ValidationError

from chargen_resources.emulator.clock import EmulatorClock
from chargen_resources.emulator.embedded import start_emulator
from chargen_resources.emulator.settings import EmulatorSettings, env_variable_name


def _flag(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chargen-emulator",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the emulated Gemini API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8910, help="0 picks a free port")
    serve.add_argument("--state-dir", type=Path, required=True)
    for name, field in EmulatorSettings.model_fields.items():
        serve.add_argument(
            _flag(name),
            dest=name,
            default=None,
            metavar="VALUE",
            help=f"{field.description} (env {env_variable_name(name)}, default {field.default!r})",
        )
    clock = commands.add_parser("clock", help="move the shared emulator clock of a state dir")
    clock.add_argument("--state-dir", type=Path, required=True)
    group = clock.add_mutually_exclusive_group(required=True)
    group.add_argument("--advance", type=float, help="seconds to add to the offset")
    group.add_argument("--set", type=float, help="set the offset to this many seconds")
    return parser


def settings_from(args: argparse.Namespace) -> EmulatorSettings:
    base = EmulatorSettings.from_env()
    overrides: dict[str, Any] = {}
    for name in EmulatorSettings.model_fields:
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    if not overrides:
        return base
    raw = {**base.model_dump(), **overrides}
    if raw.get("draft_images") in ("", "none", "None"):
        raw["draft_images"] = None
    return EmulatorSettings.model_validate(raw)


def _serve(args: argparse.Namespace) -> int:
    try:
        settings = settings_from(args)
    except ValidationError as exc:
        print(f"chargen-emulator: invalid setting: {exc}", file=sys.stderr)
        return 2
    emulator = start_emulator(args.state_dir, settings, host=args.host, port=args.port)
    print(f"chargen-emulator serving {emulator.base_url} (state in {args.state_dir})", flush=True)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    stop.wait()
    emulator.stop()
    return 0


def _clock(args: argparse.Namespace) -> int:
    clock = EmulatorClock(args.state_dir)
    if args.advance is not None:
        offset = clock.advance(args.advance)
    else:
        clock.set_offset(args.set)
        offset = args.set
    print(f"shared clock offset is now {offset} s")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    return _clock(args)


if __name__ == "__main__":
    sys.exit(main())
