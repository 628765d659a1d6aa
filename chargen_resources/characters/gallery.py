"""A static gallery of the cast: one HTML page beside the results, readable without Dagster.

Per character: its sketches, the analysis, the prompt, the final image, cost and status; the
failed ones first, with their reason. Pictures are linked relatively (the page lives at
`<prefix>/gallery/index.html`), so the folder can be opened, copied or served as it is. A small
script marks any picture that fails to load, so a broken link shows as broken, not as a gap.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterable
from typing import NamedTuple

from chargen_resources.characters.catalog import CharacterState, status_of

GALLERY_PAGE = "gallery/index.html"
# From the page up to the prefix, where every stage's folder starts.
TO_PREFIX = "../"

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; background: #1e1f24; color: #e8e8e8; }
h1 { font-weight: 600; } .summary { color: #b8b8c0; }
.card { display: grid; grid-template-columns: 260px 1fr; gap: 1.2rem; padding: 1rem;
        margin: 1rem 0; border-radius: 8px; background: #2a2b31; }
.card.failed { border-left: 6px solid #e05252; } .card.done { border-left: 6px solid #4caf7a; }
.card.pending { border-left: 6px solid #888; }
.final { max-width: 250px; max-height: 420px; }
.sketches img { height: 72px; margin-right: 4px; border: 1px solid #555; }
.reason { color: #ff9a9a; } .prompt { color: #c8c8d0; font-size: 0.9rem; }
img.broken { outline: 3px dashed #e05252; }
"""
# A cast of thousands is one long page: the browser fetches the pictures near the screen, not
# every image of the cast at once.
_LAZY = 'loading="lazy" decoding="async"'
_SCRIPT = """
for (const img of document.images) {
  const mark = (state) => { img.dataset.load = state; if (state === "error") img.classList.add("broken"); };
  if (img.complete) mark(img.naturalWidth > 0 ? "ok" : "error");
  else { img.addEventListener("load", () => mark("ok")); img.addEventListener("error", () => mark("error")); }
}
"""


def _link(key: str, prefix: str) -> str:
    """A stored object's address relative to the page."""
    return html.escape(TO_PREFIX + key.removeprefix(prefix.strip("/") + "/"))


class GalleryCard(NamedTuple):
    """One character's part of the page."""

    character: str
    status: str
    html: str


def gallery_card(
    state: CharacterState, prefix: str, thumbnail_key: str | None = None
) -> GalleryCard:
    """One character's card; its image as the thumbnail stored beside its take (at
    `thumbnail_key`), linked to the full image: a page of a few hundred 2K images would fetch
    gigabytes. Without a stored thumbnail, the full image."""
    status = status_of(state)
    name = html.escape(state.character)
    parts = [f'<section class="card {status}" id="{name}" data-status="{status}">']
    if state.image is not None:
        full = _link(state.image.image_key, prefix)
        shown = thumbnail_key if thumbnail_key and state.image.glance is not None else None
        src = _link(shown, prefix) if shown else full
        parts.append(
            f'<div><a href="{full}"><img class="final" {_LAZY} src="{src}" alt="{name}"></a></div>'
        )
    else:
        parts.append('<div class="final">no image</div>')
    parts.append(f"<div><h2>{name} <small>({status})</small></h2>")
    if state.dead_letter is not None:
        reason = html.escape(state.dead_letter.reason)
        parts.append(f'<p class="reason">{html.escape(state.dead_letter.stage)}: {reason}</p>')
    if state.source is not None:
        sketches = "".join(
            f'<img {_LAZY} src="{_link(image.key, prefix)}" '
            f'alt="sketch {html.escape(image.source_name)}">'
            for image in state.source.images
        )
        parts.append(f'<p class="sketches">{sketches}</p>')
    if state.analysis is not None:
        analysis = state.analysis.analysis
        colours = ", ".join(c.hex or c.name for c in analysis.colour_palette)
        parts.append(
            f"<p>{html.escape(analysis.archetype)}; mood {html.escape(analysis.mood)}; "
            f"palette {html.escape(colours)}</p>"
        )
    if state.prompt is not None:
        parts.append(f'<p class="prompt">{html.escape(state.prompt.text)}</p>')
    if state.image is not None:
        sent = ", ".join(state.image.references) or "none (text only)"
        parts.append(
            f'<p class="take">take {state.image.take or 1}; references sent: '
            f"{html.escape(sent)}</p>"
        )
    cost = sum(
        record.estimated_cost_usd or 0.0
        for record in (state.analysis, state.image)
        if record is not None
    )
    made_by = next(
        (r.backend for r in (state.image, state.analysis) if r is not None and r.backend), None
    )
    badge = f"; backend: {html.escape(made_by)}" if made_by else ""
    parts.append(f"<p>cost about ${cost:.3f}{badge}</p></div></section>")
    return GalleryCard(state.character, status, "".join(parts))


def render_gallery(cards: Iterable[GalleryCard], prefix_uri: str) -> str:
    """The page; failed characters first, then the rest by name."""
    ordered = sorted(cards, key=lambda card: (card.status != "failed", card.character))
    counts = Counter(card.status for card in ordered)
    shown = ", ".join(
        f"{counts[status]} {status}"
        for status in ("done", "locked", "stale", "failed", "pending")
        if counts[status] or status in ("done", "failed")
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>chargen cast</title>"
        f"<style>{_STYLE}</style></head><body><h1>The cast</h1>"
        f'<p class="summary">{shown}; results in {html.escape(prefix_uri)}</p>'
        + "".join(card.html for card in ordered)
        + f"<script>{_SCRIPT}</script></body></html>"
    )
