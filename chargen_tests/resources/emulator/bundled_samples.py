"""The ten bundled sample characters as the emulator's analysis model reads them (no HTTP):
what the emulator tests about the demo's cast start from."""

from __future__ import annotations

import base64
import mimetypes
from pathlib import Path

from chargen_resources.characters.analysis import CharacterAnalysis
from chargen_resources.characters.requests import analysis_request
from chargen_resources.emulator.inference import answer
from chargen_resources.inbox.sources import InboxCharacter, LocalInbox

SAMPLES = Path(__file__).resolve().parents[3] / "samples" / "inbox"


def sample_readings() -> dict[str, tuple[InboxCharacter, CharacterAnalysis]]:
    """Each sample character and the analysis the emulator gives its sketches."""
    readings = {}
    for character in LocalInbox(SAMPLES).list_characters():
        request = analysis_request([], character.key)
        for image in character.images:
            data = base64.b64encode(Path(image.ref).read_bytes()).decode()
            mime = mimetypes.guess_type(image.name)[0] or "image/png"
            request["contents"][0]["parts"].append({"inlineData": {"mimeType": mime, "data": data}})
        result = answer("gemini-2.5-flash", request, lambda file_id: (Path(), ""))
        text = "".join(part.text or "" for part in result.parts if not part.thought)
        readings[character.key] = (character, CharacterAnalysis.model_validate_json(text))
    return readings
