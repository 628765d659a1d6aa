"""What a stage sends of a character's files: the analysis the sketches, the image the yaml too."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from chargen_resources.inbox.sources import LocalInbox
from chargen_resources.pipeline import stage_names
from chargen_resources.pipeline.sent_inputs import sent_inputs_hash


def test_the_analysis_hash_ignores_character_yaml_and_the_image_hash_does_not(
    tmp_path: Path,
) -> None:
    (tmp_path / "ash").mkdir()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(tmp_path / "ash" / "front.png")
    sheet = tmp_path / "ash" / "character.yaml"
    sheet.write_text("notes: grim\n")
    inbox = LocalInbox(tmp_path)

    def hashes() -> tuple[str | None, str | None]:
        (ash,) = inbox.list_characters()
        return (
            sent_inputs_hash(inbox, ash, stage_names.ANALYSIS),
            sent_inputs_hash(inbox, ash, stage_names.IMAGE),
        )

    analysis, image = hashes()
    sheet.write_text("notes: gentle\n")
    assert hashes()[0] == analysis and hashes()[1] != image
    (ash,) = inbox.list_characters()
    (tmp_path / "ash" / "front.png").unlink()  # gone since it was listed: the run says so
    assert sent_inputs_hash(inbox, ash, stage_names.ANALYSIS) is None
