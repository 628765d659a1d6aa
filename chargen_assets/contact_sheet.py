"""cast_contact_sheet: the whole cast on one PNG, built on top of character_image.

Also the example of what a studio adds downstream (a sprite sheet, an engine import): an
ordinary asset whose input is loaded by chargen's IO manager, typed as `dict[str, PngImage]`
(one PNG per character; `GeneratedImage` would give the JSON records instead).
"""

from __future__ import annotations

import dagster as dg

from chargen_assets.catalog import CATALOG_CONDITION
from chargen_assets.stages import IMAGE
from chargen_resources.characters.contact_sheet import render_contact_sheet
from chargen_resources.storage.codecs import PngImage


@dg.asset(
    ins={"images": dg.AssetIn(IMAGE, metadata={"allow_missing_partitions": True})},
    group_name="characters",
    kinds={"pillow", "png"},
    automation_condition=CATALOG_CONDITION,
    description="Every character's finished image as a captioned tile, one PNG for the cast.",
)
def cast_contact_sheet(images: dict[str, PngImage]) -> dg.Output[PngImage]:
    sheet = PngImage(render_contact_sheet({name: png.data for name, png in images.items()}))
    return dg.Output(sheet, metadata={"characters": len(images)})
