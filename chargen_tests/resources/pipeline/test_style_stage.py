from pathlib import Path

import pytest
from PIL import Image

from chargen_resources.characters.artifacts import NO_STYLE, CastStyle
from chargen_resources.inbox.sources import LocalInbox
from chargen_resources.pipeline.estimate import ReadOnlyStore
from chargen_resources.pipeline.style_stage import (
    StyleError,
    prepare_style,
    stored_style,
    style_to_price,
)
from chargen_resources.storage.blob_store import LocalBlobStore
from chargen_resources.storage.documents import put_model
from chargen_resources.storage.layout import artifact_key


def _inbox(root: Path, style: bool) -> LocalInbox:
    (root / "ash").mkdir(parents=True)
    Image.new("RGB", (32, 48), (200, 30, 30)).save(root / "ash" / "front.png")
    if style:
        (root / "_style").mkdir()
        (root / "_style" / "style.yaml").write_text("art_direction: ink and wash\n")
        Image.new("RGB", (32, 48), (10, 10, 10)).save(root / "_style" / "mood.png")
    return LocalInbox(root)


def test_without_a_style_folder_the_style_is_empty(tmp_path: Path) -> None:
    inbox = _inbox(tmp_path / "inbox", style=False)
    store = LocalBlobStore(tmp_path / "store")
    style = prepare_style(inbox.scan().style, inbox, store, "chargen", 2048)
    assert style == CastStyle() and style.content_hash == NO_STYLE
    assert stored_style(store, "chargen", inbox) == CastStyle()


def test_the_style_folder_is_read_and_its_images_normalised(tmp_path: Path) -> None:
    inbox = _inbox(tmp_path / "inbox", style=True)
    store = LocalBlobStore(tmp_path / "store")
    style = prepare_style(inbox.scan().style, inbox, store, "chargen", 2048)
    assert style.present and style.spec.art_direction == "ink and wash"
    (image,) = style.images
    assert image.source_name == "mood.png" and store.exists(image.key)
    assert image.key.startswith("chargen/cast_style/images/")
    assert style.content_hash != NO_STYLE
    # Never materialized while the folder exists: said plainly, not silently ignored.
    with pytest.raises(StyleError, match="cast_style has not been materialized"):
        stored_style(store, "chargen", inbox)


def test_a_tiny_swatch_is_art_direction_though_a_sketch_that_size_would_be_refused(
    tmp_path: Path,
) -> None:
    inbox = _inbox(tmp_path / "inbox", style=True)
    Image.new("RGB", (4, 4), (90, 20, 160)).save(tmp_path / "inbox" / "_style" / "swatch.png")
    store = LocalBlobStore(tmp_path / "store")
    style = prepare_style(inbox.scan().style, inbox, store, "chargen", 2048)
    assert [(image.source_name, image.width) for image in style.images] == [
        ("mood.png", 32),
        ("swatch.png", 4),
    ]


def test_a_style_folder_added_changed_or_removed_since_it_was_read_is_said(
    tmp_path: Path,
) -> None:
    """The stored guide stands only for the folder it was read from: prompts made from an older
    one would be paid for and stale at once."""
    root = tmp_path / "inbox"
    inbox = _inbox(root, style=False)
    store = LocalBlobStore(tmp_path / "store")
    key = artifact_key("chargen", "cast_style", None, "json")

    def read() -> CastStyle:
        style = prepare_style(inbox.scan().style, inbox, store, "chargen", 2048)
        put_model(store, key, style)
        return style

    read()  # no folder then
    assert stored_style(store, "chargen", inbox) == CastStyle()
    (root / "_style").mkdir()
    (root / "_style" / "style.yaml").write_text("art_direction: ink and wash\n")
    with pytest.raises(StyleError, match="has a _style/ folder now, and cast_style was read"):
        stored_style(store, "chargen", inbox)
    assert read().folder_fingerprint is not None
    assert stored_style(store, "chargen", inbox).spec.art_direction == "ink and wash"
    (root / "_style" / "style.yaml").write_text("art_direction: charcoal, heavy shadow\n")
    with pytest.raises(StyleError, match="_style/ folder changed since cast_style was read"):
        stored_style(store, "chargen", inbox)
    read()
    (root / "_style" / "style.yaml").unlink()
    (root / "_style").rmdir()
    with pytest.raises(StyleError, match="no longer has the _style/ folder"):
        stored_style(store, "chargen", inbox)


def test_a_stale_guide_whose_folder_cannot_be_read_names_the_file_and_the_cause(
    tmp_path: Path,
) -> None:
    """cast_style failed on the file: a run or an estimate refusing the stale guide says why,
    not only that the folder changed."""
    inbox = _inbox(tmp_path / "inbox", style=True)
    store = LocalBlobStore(tmp_path / "store")
    put_model(
        store,
        artifact_key("chargen", "cast_style", None, "json"),
        prepare_style(inbox.style(), inbox, store, "chargen", 2048),
    )
    (tmp_path / "inbox" / "_style" / "style.yaml").write_text("palette: [teal\n")
    with pytest.raises(StyleError) as refused:
        stored_style(store, "chargen", inbox)
    told = str(refused.value)
    assert told.startswith("the inbox's _style/ folder changed since cast_style was read, and ")
    assert "_style/style.yaml" in told and told.endswith("fix it, then materialize cast_style")
    (tmp_path / "inbox" / "_style" / "style.yaml").write_text("art_direction: pencil\n")
    with pytest.raises(StyleError, match=r"dagster asset materialize .* --select cast_style"):
        stored_style(store, "chargen", inbox)


def test_an_estimate_prices_a_changed_folder_as_the_inbox_has_it_and_stores_nothing(
    tmp_path: Path,
) -> None:
    """A run refuses a guide cast_style has not read; an estimate prices what the runs after
    cast_style will send, and says so."""
    root = tmp_path / "inbox"
    inbox = _inbox(root, style=True)
    store = LocalBlobStore(tmp_path / "store")
    style, unread = style_to_price(store, "chargen", inbox, ReadOnlyStore(store))
    assert unread == "the inbox has a _style/ folder but cast_style has not been materialized yet"
    assert style.spec.art_direction == "ink and wash" and len(style.images) == 1
    assert not (tmp_path / "store").exists()  # read, normalised, and nothing kept
    put_model(
        store,
        artifact_key("chargen", "cast_style", None, "json"),
        prepare_style(inbox.style(), inbox, store, "chargen", 2048),
    )
    assert style_to_price(store, "chargen", inbox, ReadOnlyStore(store)) == (
        stored_style(store, "chargen", inbox),
        None,
    )
    (root / "_style" / "style.yaml").write_text("art_direction: charcoal\n")
    style, unread = style_to_price(store, "chargen", inbox, ReadOnlyStore(store))
    assert style.spec.art_direction == "charcoal"
    assert unread == "the inbox's _style/ folder changed since cast_style was read"
    (root / "_style" / "style.yaml").write_text("palette: [teal\n")
    with pytest.raises(StyleError) as refused:
        style_to_price(store, "chargen", inbox, ReadOnlyStore(store))
    told = str(refused.value)
    assert "cannot be read as it is" in told and "_style/style.yaml" in told
    assert told.endswith("fix it, then materialize cast_style")
