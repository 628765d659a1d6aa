"""character_prompt's code version is the template file's content hash: editing the file makes
every prompt and every image made from it stale, as Dagster's UI and GraphQL show it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import ModuleTarget
from dagster_graphql.test.utils import execute_dagster_graphql

from chargen_assets import character_prompt
from chargen_assets.partitions import CHARACTERS
from chargen_assets.pipeline import character_pipeline
from chargen_resources.characters.prompt_template import DEFAULT_TEMPLATE_PATH, TEMPLATE_ENV
from chargen_tests.fixtures.platform import COLOURS, Platform

STALE_BY_PARTITION = """
query Stale($path: [String!]!, $partitions: [String!]) {
  assetNodeOrError(assetKey: {path: $path}) {
    ... on AssetNode { staleStatusByPartition(partitions: $partitions) }
  }
}
"""
PROJECT = Path(__file__).resolve().parents[2]


@contextmanager
def _ui_over(instance: dg.DagsterInstance) -> Iterator[WorkspaceProcessContext]:
    """The webserver's view: the definitions loaded afresh in a code server process."""
    target = ModuleTarget(
        module_name="chargen_assets.definitions",
        attribute=None,
        working_directory=str(PROJECT),
        location_name="chargen",
    )
    with WorkspaceProcessContext(instance, target) as workspace:
        yield workspace


def _stale_statuses(
    workspace: WorkspaceProcessContext, asset: str, keys: list[str]
) -> dict[str, str]:
    answer = execute_dagster_graphql(
        workspace.create_request_context(),
        STALE_BY_PARTITION,
        {"path": [asset], "partitions": keys},
    )
    assert not answer.errors, answer.errors
    statuses = answer.data["assetNodeOrError"]["staleStatusByPartition"]
    return dict(zip(keys, statuses, strict=True))


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
        instance.add_dynamic_partitions(CHARACTERS, keys)
        result = dg.materialize(
            [character_pipeline],
            instance=instance,
            resources=platform.resources,
            tags={
                "dagster/asset_partition_range_start": keys[0],
                "dagster/asset_partition_range_end": keys[-1],
            },
        )
        assert result.success
        with _ui_over(instance) as workspace:
            for asset in ("character_prompt", "character_image"):
                assert set(_stale_statuses(workspace, asset, keys).values()) == {"FRESH"}

        template.write_text(template.read_text() + "\nRim light from the left.\n")
        with _ui_over(instance) as workspace:
            for asset in ("character_prompt", "character_image"):
                assert _stale_statuses(workspace, asset, keys) == dict.fromkeys(keys, "STALE")
            # Upstream of the template nothing changed.
            assert set(_stale_statuses(workspace, "character_analysis", keys).values()) == {"FRESH"}
    assert character_prompt.CODE_VERSION.startswith("tpl-")
