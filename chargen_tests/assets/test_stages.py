"""The declared table of stages: order, names, versions and who reads whom."""

from __future__ import annotations

import dagster as dg

from chargen_assets import stages
from chargen_resources.pipeline import stage_names


def test_the_table_is_the_pipeline_in_order_under_the_stage_names() -> None:
    assert [key.to_user_string() for key in stages.PIPELINE_KEYS] == list(stage_names.PIPELINE)
    assert dg.AssetKey(stage_names.IMAGE) == stages.IMAGE


def test_each_stage_is_read_by_the_next_and_the_image_by_none() -> None:
    readers = {
        stage.key.to_user_string(): [r.key.to_user_string() for r in stages.needed_by(stage.key)]
        for stage in stages.PIPELINE
    }
    assert readers[stage_names.SOURCE] == [stage_names.ANALYSIS, stage_names.PROMPT]
    assert readers[stage_names.ANALYSIS] == [stage_names.PROMPT]
    assert readers[stage_names.PROMPT] == [stage_names.IMAGE]
    assert readers[stage_names.IMAGE] == []
