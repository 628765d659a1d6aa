"""Catalog rows, the table and the cost per day, from what the stages stored."""

from datetime import UTC, datetime

import polars as pl

from chargen_resources.characters.artifacts import DeadLetter, GeneratedImage
from chargen_resources.characters.catalog import (
    CharacterState,
    catalog_row,
    catalog_table,
    cost_by_day,
    cost_lines,
)
from chargen_tests.factories import compiled_prompt, generated_image


def _image(prompt_hash: str) -> GeneratedImage:
    return generated_image(prompt_hash=prompt_hash)


def build_catalog(states: list[CharacterState]) -> pl.DataFrame:
    return catalog_table(catalog_row(state) for state in states)


def test_rows_carry_status_reason_tokens_and_cost() -> None:
    table = build_catalog(
        [
            CharacterState(
                "b",
                dead_letter=DeadLetter(character="b", stage="character_image", reason="blocked"),
            ),
            CharacterState("a", image=_image("h")),
            CharacterState("c"),
        ]
    )
    assert table["character"].to_list() == ["a", "b", "c"]
    assert table["status"].to_list() == ["done", "failed", "pending"]
    assert table.row(0, named=True)["tokens"] == 1130
    assert table.row(1, named=True)["reason"] == "blocked"


def test_a_new_failure_outranks_an_older_image_and_a_changed_prompt_is_stale() -> None:
    failed_again = CharacterState(
        "a",
        image=_image("h"),
        dead_letter=DeadLetter(character="a", stage="source_image", reason="corrupt sketch"),
    )
    prompt = compiled_prompt(character="a", template_version="v2", prompt_hash="new")
    stale = CharacterState("b", image=_image("old"), prompt=prompt)
    table = build_catalog([failed_again, stale])
    assert table["status"].to_list() == ["failed", "stale"]
    assert table.row(0, named=True)["image_key"] == "k.png"  # the last good image is still shown


def test_cost_by_day_sums_what_arrived_each_day() -> None:
    monday, tuesday = datetime(2026, 11, 30, 9, tzinfo=UTC), datetime(2026, 12, 1, 9, tzinfo=UTC)
    states = [
        CharacterState(
            character="a", image=generated_image(made_at=monday, estimated_cost_usd=0.07)
        ),
        CharacterState(
            character="b", image=generated_image(made_at=monday, estimated_cost_usd=0.05)
        ),
        CharacterState(
            character="c", image=generated_image(made_at=tuesday, estimated_cost_usd=0.1)
        ),
        CharacterState(character="d", image=generated_image(made_at=None)),
    ]
    table = cost_by_day(line for state in states for line in cost_lines(state))
    assert table.to_dicts() == [
        {"day": "2026-11-30", "requests": 2, "estimated_cost_usd": 0.12},
        {"day": "2026-12-01", "requests": 1, "estimated_cost_usd": 0.1},
    ]
    assert cost_by_day([]).height == 0
