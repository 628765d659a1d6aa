"""Where CHARGEN_STORAGE and CHARGEN_INBOX point, and when the two are one place."""

from __future__ import annotations

from pathlib import Path

import pytest

from chargen_resources.storage.locations import Location, overlap_problem


def test_a_location_is_a_folder_or_a_bucket_and_prefix() -> None:
    assert Location.parse("s3://studio/results/") == Location("studio", "results")
    assert Location.parse("s3://studio") == Location("studio", "")
    assert Location.parse("./inbox") == Location(None, "./inbox")
    assert str(Location.parse("s3://studio/results")) == "s3://studio/results"


@pytest.mark.parametrize(
    ("storage", "inbox", "overlap"),
    [
        (".chargen/storage", "inbox", False),  # the defaults
        ("{tmp}/inbox", "{tmp}/inbox", True),  # results inside the inbox
        ("{tmp}/storage", "{tmp}/storage/chargen/sketches", True),  # an inbox among results
        ("{tmp}/storage", "{tmp}/storage-inbox", False),  # a shared name start is not nesting
        ("{tmp}/storage", "{tmp}", True),  # the inbox holds the results folder
        ("s3://studio/results", "s3://studio", True),
        ("s3://studio", "s3://studio/inbox", False),  # results go to s3://studio/chargen
        ("s3://studio", "s3://studio/chargen/inbox", True),
        ("s3://studio/results", "s3://studio/results-inbox", False),
        ("s3://one/results", "s3://two", False),
        ("{tmp}/storage", "s3://studio", False),
    ],
)
def test_results_and_inbox_must_be_apart(
    storage: str, inbox: str, overlap: bool, tmp_path: Path
) -> None:
    problem = overlap_problem(
        Location.parse(storage.format(tmp=tmp_path)), Location.parse(inbox.format(tmp=tmp_path))
    )
    assert (problem is not None) == overlap
