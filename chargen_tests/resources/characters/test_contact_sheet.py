"""The contact sheet: every character a tile, the missing ones marked instead of left out."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from pathlib import Path

from PIL import Image

from chargen_resources.characters.contact_sheet import (
    CAPTION,
    FAILED,
    PENDING,
    SHEET_CHARACTERS,
    TILE,
    in_pages,
    render_contact_sheet,
    sheet_name,
    sheet_pages,
    store_sheets,
    stored_drawn_from,
)
from chargen_resources.storage.blob_store import LocalBlobStore


def _png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (100, 200), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def test_failed_and_pending_characters_get_marked_tiles() -> None:
    pictures = {"ash": _png((0, 0, 250)), "blocked": None, "new": None}
    sheet = render_contact_sheet(pictures, pictures.get, {"blocked": "failed", "new": "pending"})
    with Image.open(io.BytesIO(sheet)) as image:
        assert image.size == (2 * TILE, 2 * (TILE + CAPTION))
        assert image.getpixel((TILE // 2, TILE // 2)) == (0, 0, 250)  # ash's picture
        assert image.getpixel((TILE + 12, 12)) == FAILED  # "blocked", second tile
        assert image.getpixel((12, TILE + CAPTION + 12)) == PENDING  # "new", third tile


def test_the_cast_goes_on_sheets_of_400_in_name_order() -> None:
    cast = [f"c{index:04d}" for index in reversed(range(2 * SHEET_CHARACTERS + 1))]
    pages = sheet_pages(cast)
    assert [len(page) for page in pages] == [SHEET_CHARACTERS, SHEET_CHARACTERS, 1]
    assert [name for page in pages for name in page] == sorted(cast)
    assert sheet_pages([]) == [[]]  # an empty cast still gets its (empty) sheet


def test_a_page_comes_as_soon_as_its_items_have_and_a_stream_is_never_read_ahead() -> None:
    taken: list[int] = []

    def stream() -> Iterator[int]:
        for index in range(SHEET_CHARACTERS + 1):
            taken.append(index)
            yield index

    pages = in_pages(stream())
    assert next(pages) == list(range(SHEET_CHARACTERS))
    assert len(taken) == SHEET_CHARACTERS  # the catalog draws this sheet while the next is read
    assert next(pages) == [SHEET_CHARACTERS]
    assert list(pages) == []
    assert list(in_pages(iter(range(SHEET_CHARACTERS)))) == [list(range(SHEET_CHARACTERS))]
    assert list(in_pages([])) == [[]]


def test_pictures_are_read_by_several_threads_at_once() -> None:
    started: set[str] = set()
    both_reading = threading.Barrier(2, timeout=10)

    def picture(name: str) -> bytes:
        started.add(threading.current_thread().name)
        if name in ("ash", "cole"):  # the first picture of each row waits for the other
            both_reading.wait()
        return _png((0, 0, 250))

    # Two rows of two: one reader at a time would wait at the barrier until it broke.
    render_contact_sheet(["ash", "bram", "cole", "dana"], picture, readers=2)
    assert len(started) == 2


def test_the_first_sheet_keeps_its_name_and_the_next_are_numbered() -> None:
    assert sheet_name("cast.png", 1) == "cast.png"
    assert sheet_name("cast.png", 2) == "cast-002.png"
    assert sheet_name("sheets/cast", 12) == "sheets/cast-012"


def test_sheets_are_stored_in_order_and_an_earlier_casts_extra_sheets_go(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    written = store_sheets(store, "out/cast.png", [b"one", b"two", b"three"])
    assert written == ["out/cast.png", "out/cast-002.png", "out/cast-003.png"]
    assert store.get_bytes("out/cast-003.png") == b"three"
    assert store_sheets(store, "out/cast.png", [b"smaller"]) == ["out/cast.png"]
    assert sorted(store.list_keys("out/")) == ["out/cast.png"]
    assert store.get_bytes("out/cast.png") == b"smaller"
    assert store_sheets(store, "out/cast.png", [None, b"second"]) == [
        "out/cast.png",
        "out/cast-002.png",
    ]
    assert store.get_bytes("out/cast.png") == b"smaller"  # None: kept as it was


def test_a_sheet_says_what_it_was_drawn_from_in_its_first_bytes(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    sheet = render_contact_sheet(["ash"], lambda name: _png((0, 0, 250)), drawn_from="abc123")
    with Image.open(io.BytesIO(sheet)) as opened:  # a well-formed PNG text chunk
        opened.load()
        assert opened.info["chargen-drawn-from"] == "abc123"
    store.put_bytes("out/cast.png", sheet, "image/png")
    assert stored_drawn_from(store, "out/cast.png") == "abc123"
    store.put_bytes("out/plain.png", render_contact_sheet(["ash"], lambda name: None), "image/png")
    assert stored_drawn_from(store, "out/plain.png") is None
    store.put_bytes("out/other.png", b"not a png at all", "image/png")
    assert stored_drawn_from(store, "out/other.png") is None
    assert stored_drawn_from(store, "out/missing.png") is None
