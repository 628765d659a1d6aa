"""cast_contact_sheet: the whole cast on PNG sheets of 400, built on top of character_image.

Also the example of what a studio adds downstream (a sprite sheet, an engine import): an
asset over the whole cast that depends on `character_image` and reads each character's PNG
through chargen's storage resource as it needs it, so 10,000 images are never in memory at
once. (An input typed `dict[str, PngImage]`, loaded by chargen's IO manager, reads every PNG
first: fine for records, or for a few hundred images.)
"""

import dagster as dg

from chargen_assets.catalog import CATALOG_CONDITION
from chargen_assets.stages import IMAGE
from chargen_assets.stopping import stops_plainly
from chargen_assets.storage import ChargenStorage
from chargen_resources.characters.contact_sheet import (
    render_contact_sheet,
    sheet_pages,
    store_sheets,
)
from chargen_resources.storage.codecs import PngImage


@dg.asset(
    deps=[IMAGE],
    group_name="characters",
    kinds={"pillow", "png"},
    automation_condition=CATALOG_CONDITION,
    description="Every character's finished image as a captioned tile, 400 to a PNG sheet.",
)
@stops_plainly("cast_contact_sheet")
def cast_contact_sheet(
    context: dg.AssetExecutionContext, storage: ChargenStorage
) -> dg.MaterializeResult:
    made = storage.stored_versions(IMAGE, PngImage)  # characters without an image are left out
    keys = store_sheets(
        storage.store(),
        storage.artifact_key(context.asset_key, None, "png"),
        (
            render_contact_sheet(
                names,
                lambda character: storage.read_artifact(IMAGE, character, PngImage).data,
                readers=storage.store().parallel_reads,
            )
            for names in sheet_pages(made)  # 400 to a sheet, the next ones numbered
        ),
    )
    return dg.MaterializeResult(
        metadata={
            "characters": len(made),
            "sheet": dg.MetadataValue.path(storage.store().uri(keys[0])),
            "sheets": len(keys),
        }
    )
