"""The monthly budget on both stores: reservations never exceed it, even when runs race."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chargen_resources.gemini.budget import BudgetExceeded, MonthlyBudget
from chargen_resources.storage.blob_store import BlobStore, LocalBlobStore, S3BlobStore


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return LocalBlobStore(tmp_path / "store")
    return S3BlobStore(request.getfixturevalue("s3_client"), request.getfixturevalue("s3_bucket"))


def test_reservations_hold_within_the_limit_and_settle_to_what_was_paid(store: BlobStore) -> None:
    budget = MonthlyBudget(store, "chargen", limit_usd=1.0)
    first = budget.reserve(0.6, "run-1")
    with pytest.raises(BudgetExceeded) as refused:
        budget.reserve(0.5, "run-2")
    message = str(refused.value)
    assert "$0.50" in message and "$1.00" in message and "$0.40 left" in message
    assert "CHARGEN_MONTHLY_BUDGET_USD" in message
    budget.settle(first, actual_usd=0.25)  # it paid less than estimated
    assert budget.spent() == pytest.approx(0.25)
    budget.reserve(0.5, "run-2")
    assert budget.spent() == pytest.approx(0.75)


def test_racing_runs_never_reserve_past_the_limit(store: BlobStore) -> None:
    budget = MonthlyBudget(store, "chargen", limit_usd=1.0)

    def try_reserve(number: int) -> bool:
        try:
            MonthlyBudget(store, "chargen", limit_usd=1.0).reserve(0.3, f"run-{number}")
        except BudgetExceeded:
            return False
        return True

    with ThreadPoolExecutor(8) as pool:
        won = list(pool.map(try_reserve, range(8)))
    assert won.count(True) == 3
    assert budget.spent() == pytest.approx(0.9)


def test_each_month_starts_afresh(store: BlobStore) -> None:
    november = MonthlyBudget(
        store, "chargen", 1.0, clock=lambda: datetime(2026, 11, 30, tzinfo=UTC)
    )
    december = MonthlyBudget(store, "chargen", 1.0, clock=lambda: datetime(2026, 12, 1, tzinfo=UTC))
    november.reserve(0.9, "run-1")
    assert december.spent() == 0.0
    december.reserve(0.9, "run-2")


def test_an_amount_from_the_environment_is_finite_and_not_negative(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from chargen_resources.gemini.budget import dollars_from_env

    monkeypatch.delenv("CHARGEN_MONTHLY_BUDGET_USD", raising=False)
    assert dollars_from_env("CHARGEN_MONTHLY_BUDGET_USD") is None
    monkeypatch.setenv("CHARGEN_MONTHLY_BUDGET_USD", "12.5")
    assert dollars_from_env("CHARGEN_MONTHLY_BUDGET_USD") == 12.5
    for wrong in ("nan", "inf", "-1", "$5", "abc"):
        monkeypatch.setenv("CHARGEN_MONTHLY_BUDGET_USD", wrong)
        with pytest.raises(ValueError, match=f"CHARGEN_MONTHLY_BUDGET_USD='{re.escape(wrong)}'"):
            dollars_from_env("CHARGEN_MONTHLY_BUDGET_USD")
