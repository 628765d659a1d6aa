"""uploaded_references against the emulator: each character's sketches as the job will send them."""

import hashlib
import io
from pathlib import Path

from google import genai
from PIL import Image

from chargen_resources.characters.prompt_compiler import Reference
from chargen_resources.gemini.ledger import Ledger
from chargen_resources.gemini.uploads import UploadCache
from chargen_resources.pipeline.references import uploaded_references
from chargen_resources.storage.blob_store import LocalBlobStore


def _stored(store: LocalBlobStore, key: str, colour: tuple[int, int, int]) -> Reference:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, format="PNG")
    data = buffer.getvalue()
    store.put_bytes(key, data, "image/png")
    return Reference(name=key.rsplit("/", 1)[-1], sha256=hashlib.sha256(data).hexdigest(), key=key)


def test_each_character_gets_its_references_in_order_and_shared_content_goes_up_once(
    genai_client: genai.Client, tmp_path: Path
) -> None:
    store = LocalBlobStore(tmp_path)
    style = _stored(store, "style/look.png", (9, 9, 9)).model_copy(update={"role": "style"})
    knight = _stored(store, "src/knight/front.png", (200, 0, 0))
    twin = _stored(store, "src/twin/front.png", (200, 0, 0))  # the same pixels as the knight's
    mage = _stored(store, "src/mage/front.png", (0, 0, 200))
    uploads = UploadCache(genai_client, Ledger(store, "chargen"))

    sent = uploaded_references(
        {"knight": [knight, style], "twin": [twin], "mage": [mage, style]},
        uploads=uploads,
        store=store,
    )

    on_service = {f.name or "": f for f in genai_client.files.list()}
    assert sorted(on_service) == sent.file_names and len(sent.file_names) == 3
    uri_of = {name: file.uri for name, file in on_service.items()}
    knight_sent, knight_style = sent.by_character["knight"]
    assert (knight_sent.role, knight_style.role) == ("sketch", "style")
    assert sent.by_character["twin"][0].uri == knight_sent.uri
    assert sent.by_character["mage"][1] == knight_style
    assert {r.uri for refs in sent.by_character.values() for r in refs} == set(uri_of.values())
    assert on_service[next(n for n, u in uri_of.items() if u == knight_sent.uri)].display_name == (
        "knight-front.png"
    )
