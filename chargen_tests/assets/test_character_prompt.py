"""character_prompt's code version is the template file's content hash: editing the file makes
every prompt and every image made from it stale, as Dagster's UI and GraphQL show it."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from chargen_assets import character_prompt
from chargen_resources.characters.prompt_template import DEFAULT_TEMPLATE_PATH, TEMPLATE_ENV
from chargen_tests.fixtures.dagster_ui import ui_graphql
from chargen_tests.fixtures.platform import COLOURS, Platform

STALE_BY_PARTITION = """
query Stale($partitions: [String!]) {
  prompt: assetNodeOrError(assetKey: {path: ["character_prompt"]}) {
    ... on AssetNode { staleStatusByPartition(partitions: $partitions) }
  }
  image: assetNodeOrError(assetKey: {path: ["character_image"]}) {
    ... on AssetNode { staleStatusByPartition(partitions: $partitions) }
  }
  analysis: assetNodeOrError(assetKey: {path: ["character_analysis"]}) {
    ... on AssetNode { staleStatusByPartition(partitions: $partitions) }
  }
}
"""


def _stale(instance: dg.DagsterInstance, keys: list[str]) -> dict[str, set[str]]:
    """Each asset's set of per-character stale statuses, as the UI reads them."""
    data = ui_graphql(instance, STALE_BY_PARTITION, {"partitions": keys})
    return {asset: set(node["staleStatusByPartition"]) for asset, node in data.items()}


def test_editing_the_template_file_makes_every_prompt_and_image_stale_over_graphql(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = sorted(COLOURS)
    template = tmp_path / "prompts" / "character_image.txt"
    template.parent.mkdir()
    shutil.copy(DEFAULT_TEMPLATE_PATH, template)  # what this process's definitions were built from
    monkeypatch.setenv(TEMPLATE_ENV, str(template))
    monkeypatch.setenv("CHARGEN_INBOX", str(platform.inbox))
    monkeypatch.setenv("CHARGEN_STORAGE", str(platform.storage_root))
    (tmp_path / "dagster_home").mkdir()
    with dg.DagsterInstance.local_temp(str(tmp_path / "dagster_home")) as instance:
        assert platform.run(keys, instance=instance).success
        fresh = {"FRESH"}
        assert _stale(instance, keys) == {"prompt": fresh, "image": fresh, "analysis": fresh}

        template.write_text(template.read_text() + "\nRim light from the left.\n")
        # Every prompt and image, and only them: upstream of the template nothing changed.
        stale = {"STALE"}
        assert _stale(instance, keys) == {"prompt": stale, "image": stale, "analysis": fresh}
    assert character_prompt.CODE_VERSION.startswith("tpl-")
