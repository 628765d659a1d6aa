from pathlib import Path

from PIL import Image

from chargen_resources.inbox.sources import LocalInbox
from chargen_resources.pipeline.source_stage import prepare_sources
from chargen_resources.storage.blob_store import LocalBlobStore


def test_sources_are_normalised_into_the_store_and_hashed_by_content(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "ash").mkdir(parents=True)
    Image.new("RGB", (4000, 1000), (200, 0, 0)).save(inbox / "ash" / "wide.png")
    (inbox / "ash" / "character.yaml").write_text("display_name: Ash\n")
    store = LocalBlobStore(tmp_path / "store")
    outcome = prepare_sources(["ash", "gone"], LocalInbox(inbox), store, "chargen", max_side=1024)
    assert set(outcome.succeeded) == {"ash"} and "gone" in outcome.failed
    source = outcome.succeeded["ash"]
    (image,) = source.images
    assert (image.width, image.height) == (1024, 256)
    assert store.get_bytes(image.key).startswith(b"\x89PNG")
    assert source.spec is not None and source.spec.display_name == "Ash"
    again = prepare_sources(["ash"], LocalInbox(inbox), store, "chargen", max_side=1024)
    assert again.succeeded["ash"].content_hash == source.content_hash
    (inbox / "ash" / "character.yaml").write_text("display_name: Ashen\n")
    changed = prepare_sources(["ash"], LocalInbox(inbox), store, "chargen", max_side=1024)
    assert changed.succeeded["ash"].content_hash != source.content_hash
