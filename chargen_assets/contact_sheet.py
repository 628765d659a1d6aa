"""cast_contact_sheet: the whole cast on one PNG, built on top of character_image.

Also the example of what a studio adds downstream (a sprite sheet, an engine import): an
asset over the whole cast that depends on `character_image` and reads each character's PNG
through chargen's storage resource as it needs it, so 10,000 images are never in memory at
once. (An input typed `dict[str, PngImage]`, loaded by chargen's IO manager, reads every PNG
first: fine for records, or for a few hundred images.)
"""

import dagster as dg

from chargen_assets.catalog import CATALOG_CONDITION
from chargen_assets.stages import IMAGE
from chargen_assets.storage import ChargenStorage
from chargen_resources.characters.contact_sheet import render_contact_sheet
from chargen_resources.storage.codecs import PngImage


@dg.asset(
    deps=[IMAGE],
    group_name="characters",
    kinds={"pillow", "png"},
    automation_condition=CATALOG_CONDITION,
    description="Every character's finished image as a captioned tile, one PNG for the cast.",
)
def cast_contact_sheet(
    context: dg.AssetExecutionContext, storage: ChargenStorage
) -> dg.MaterializeResult:
    made = storage.stored_partitions(IMAGE, PngImage)  # characters without an image are left out
    sheet = render_contact_sheet(
        made, lambda character: storage.read_artifact(IMAGE, character, PngImage).data
    )
    stored = storage.store_artifact(context.asset_key, None, PngImage(sheet))
    return dg.MaterializeResult(
        metadata={"characters": len(made), "sheet": dg.MetadataValue.path(stored.uri)}
    )
