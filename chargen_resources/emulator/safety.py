"""The emulator's safety filter: a fixed word list, so callers can provoke blocks on purpose.

A request whose text (``contents`` and ``systemInstruction``) contains any of these words as a
whole word, in any case, is blocked: image models answer a candidate with
``finishReason: IMAGE_SAFETY`` and no image; other models answer ``promptFeedback.blockReason:
SAFETY`` and no candidates. The ``[emulator:safety]`` marker does the same.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

BLOCKED_WORDS: tuple[str, ...] = ("gore", "gory", "dismembered", "nsfw")

_BLOCKED = re.compile(r"\b(" + "|".join(BLOCKED_WORDS) + r")\b", re.IGNORECASE)


def is_blocked(texts: Iterable[str]) -> bool:
    return any(_BLOCKED.search(text) for text in texts)
