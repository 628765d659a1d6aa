"""Asset checks on the catalog: failures surface in the UI, not only in run logs."""

import dagster as dg

from chargen_assets.catalog import character_catalog
from chargen_assets.storage import ChargenStorage
from chargen_resources.pipeline import stage_names


@dg.asset_check(asset=character_catalog, description="Every character has a finished image.")
def no_failed_characters(storage: ChargenStorage) -> dg.AssetCheckResult:
    import polars as pl  # only where a table is read (see catalog.py)

    table = storage.read_artifact(stage_names.CATALOG, None, pl.DataFrame)
    failed = table.filter(pl.col("status") == "failed")
    return dg.AssetCheckResult(
        passed=failed.height == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "failed": failed.height,
            "characters": ", ".join(failed["character"].to_list()[:50]),
            "reasons": dg.MetadataValue.md(
                "\n".join(
                    f"- **{c}**: {r}" for c, r in failed.select("character", "reason").iter_rows()
                )
            ),
        },
    )


@dg.asset_check(
    asset=character_catalog,
    description=(
        "Every finished image has its pixel size recorded (each character's own ready check "
        "compares it with the ratio and size asked, in its size_as_asked test)."
    ),
)
def images_have_dimensions(storage: ChargenStorage) -> dg.AssetCheckResult:
    import polars as pl

    table = storage.read_artifact(stage_names.CATALOG, None, pl.DataFrame)
    done = table.filter(pl.col("status") == "done")
    broken = done.filter((pl.col("width") <= 0) | (pl.col("height") <= 0))
    return dg.AssetCheckResult(
        passed=broken.height == 0,
        metadata={"checked": done.height, "without_dimensions": broken.height},
    )
