"""How counts and lists of names read in what chargen tells people."""

from __future__ import annotations

from collections.abc import Sequence


def counted(number: int, noun: str) -> str:
    """'1 character', '2 characters'."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def shortened(names: Sequence[str], limit: int = 20) -> str:
    """A list for one line: the first names, then how many more."""
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more
