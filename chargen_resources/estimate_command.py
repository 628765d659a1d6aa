"""`chargen estimate`: what materializing the characters would send and cost, sending nothing.

It reads the inbox and the results store the platform uses (CHARGEN_INBOX or --inbox,
CHARGEN_STORAGE, CHARGEN_S3_ENDPOINT_URL), makes the decisions a run would make, and prints a
table per stage: requests to send, results kept, requests already in flight, and the cost at
batch and at interactive prices. Nothing is written anywhere and no request reaches Gemini.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from pathlib import Path
from typing import get_args

from botocore.exceptions import BotoCoreError, ClientError

from chargen_resources.characters.prompt_compiler import AspectRatio, ImageSize
from chargen_resources.characters.prompt_template import TemplateError, load_template
from chargen_resources.gemini.budget import (
    BUDGET_VARIABLE,
    CEILING_VARIABLE,
    MonthlyBudget,
    dollars_from_env,
)
from chargen_resources.gemini.connection import ConnectionSettings, backend_of
from chargen_resources.gemini.ledger import Ledger
from chargen_resources.gemini.models import DEFAULT_ANALYSIS_MODEL, DEFAULT_IMAGE_MODEL
from chargen_resources.inbox.sources import InboxError, InboxSource, LocalInbox, S3Inbox
from chargen_resources.pipeline import stage_names
from chargen_resources.pipeline.errors import in_words
from chargen_resources.pipeline.estimate import Estimate, estimate
from chargen_resources.pipeline.style_stage import StyleError
from chargen_resources.storage.locations import (
    Location,
    inbox_location,
    overlap_problem,
    s3_client,
    storage_from_env,
    storage_location,
)
from chargen_resources.words import counted

STAGES = stage_names.PIPELINE
EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_UNREADABLE = 3  # the inbox, the results or the ledger could not be read


def _inbox(where: Location) -> InboxSource:
    if where.bucket is None:
        return LocalInbox(Path(where.path).resolve())
    return S3Inbox(s3_client(), where.bucket, where.path)


def _command(arguments: argparse.Namespace) -> int:
    try:
        return _estimate(arguments)
    except (BotoCoreError, ClientError) as error:  # an s3:// inbox or results unreachable
        print(f"chargen estimate: {in_words(error)}", file=sys.stderr)
        return EXIT_UNREADABLE
    except BrokenPipeError:  # the reader stopped reading (`| head`): told by `cli.main`
        raise
    except OSError as error:  # a local one (the estimate never contacts Gemini)
        print(
            f"chargen estimate: the inbox or the results could not be read: {error}",
            file=sys.stderr,
        )
        return EXIT_UNREADABLE


def _estimate(arguments: argparse.Namespace) -> int:
    selected = [name.strip() for name in arguments.select.split(",") if name.strip()]
    unknown = sorted(set(selected) - set(STAGES))
    if unknown:
        print(
            f"chargen estimate: unknown stage(s) {', '.join(unknown)}; choose from "
            f"{', '.join(STAGES)}",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    where = Location.parse(arguments.inbox) if arguments.inbox else inbox_location()
    if problem := overlap_problem(storage_location(), where):
        print(f"chargen estimate: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    inbox = _inbox(where)
    try:
        scan = inbox.scan()
        listed = [character.key for character in scan.characters]
    except InboxError as error:
        print(f"chargen estimate: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    named = [c.strip() for c in (arguments.characters or "").split(",") if c.strip()]
    if arguments.characters is not None and not named:
        print("chargen estimate: --characters names no character", file=sys.stderr)
        return EXIT_BAD_INPUT
    # A folder name as written is as good as its key (`Mon Héros` for `mon-heros-47ac588e`).
    key_of = {character.source_name: character.key for character in scan.characters}
    wanted = [key_of.get(name, name) for name in named] or listed
    missing = sorted(set(wanted) - set(listed))
    if missing:
        print(
            f"chargen estimate: not in the inbox ({inbox.description}): "
            f"{', '.join(_with_a_guess(name, [*listed, *key_of]) for name in missing)}",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    try:
        template = load_template()
    except TemplateError as error:
        print(f"chargen estimate: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        ceiling = dollars_from_env(CEILING_VARIABLE)
        budget = dollars_from_env(BUDGET_VARIABLE)
    except ValueError as error:
        print(f"chargen estimate: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    store, prefix = storage_from_env()
    try:
        priced = estimate(
            wanted,
            inbox=inbox,
            store=store,
            prefix=prefix,
            ledger=Ledger(store, prefix),
            analysis_model=arguments.analysis_model,
            image_model=arguments.image_model,
            # Who would answer the run: with a key, the emulator's stored drawings are sent again.
            answering=backend_of(
                ConnectionSettings(
                    api_key=os.environ.get("GEMINI_API_KEY") or None,
                    base_url=os.environ.get("GEMINI_BASE_URL") or None,
                )
            ),
            template=template,
            stages=selected,
            style_override=arguments.style_override,
            aspect_ratio=arguments.aspect_ratio,
            image_size=arguments.image_size,
            regenerate=arguments.regenerate,
            unread_style=True,
        )
    except StyleError as error:  # a _style/ folder that cannot be read
        print(f"chargen estimate: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(
        f"{counted(len(wanted), 'character')} in {inbox.description}; results in {store.uri(prefix)}"
    )
    print(priced.table())
    for line in guard_lines(priced, ceiling, budget, MonthlyBudget(store, prefix, budget or 0)):
        print(line)
    if unused := scan.not_characters():
        print(f"inbox: {unused}")
    return EXIT_OK


def guard_lines(
    priced: Estimate, ceiling: float | None, limit: float | None, budget: MonthlyBudget
) -> list[str]:
    """How a run of this selection stands against the cost guards set in the environment (a
    run of several characters goes at batch prices; of one, launched by hand, interactive)."""
    interactive = priced.characters == 1
    cost = priced.cost(interactive)
    prices = "interactive" if interactive else "batch"
    lines = []
    if ceiling is not None:
        verdict = "within it" if cost <= ceiling else "over it: a run of it would be refused"
        lines.append(
            f"ceiling ({CEILING_VARIABLE}): ${ceiling:.2f} per run; this selection, "
            f"${cost:.2f} at {prices} prices, is {verdict}"
        )
    if limit is not None:
        spent = budget.spent()
        left = max(limit - spent, 0.0)
        verdict = "fits" if cost <= left else "does not fit: a run of it would be refused"
        lines.append(
            f"monthly budget ({BUDGET_VARIABLE}): ${limit:.2f}, ${spent:.2f} reserved or spent "
            f"this month, ${left:.2f} left; this selection, ${cost:.2f} at {prices} prices, "
            f"{verdict}"
        )
    if (ceiling is not None or limit is not None) and priced.unpriced_note():
        lines.append("a run to a model with no recorded price is refused while a guard is set")
    return lines


def add_estimate(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "estimate",
        help="what a run would send and cost, per stage (sends and writes nothing)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--inbox", help="folder or s3://bucket/prefix (default: CHARGEN_INBOX)")
    parser.add_argument(
        "--select",
        default=",".join(STAGES),
        help="comma-separated stages, as in `dagster asset materialize --select`",
    )
    parser.add_argument(
        "--characters",
        help="comma-separated partition keys or folder names as written (default: all)",
    )
    parser.add_argument("--analysis-model", default=DEFAULT_ANALYSIS_MODEL)
    parser.add_argument("--image-model", default=DEFAULT_IMAGE_MODEL)
    parser.add_argument("--aspect-ratio", default="9:16", choices=get_args(AspectRatio))
    parser.add_argument("--image-size", default="1K", choices=get_args(ImageSize))
    parser.add_argument("--style-override")
    parser.add_argument(
        "--regenerate", action="store_true", help="price sending every character again"
    )
    parser.set_defaults(handler=_command)


def _with_a_guess(name: str, known: list[str]) -> str:
    """`name`, and the nearest character key or folder name when one is close (a typo)."""
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
    return f"{name} (did you mean {close[0]}?)" if close else name
