"""A monthly budget every process and run shares: reserved before paying, settled after.

The month's spending is an append-only log in the store beside the ledger:
`_ledger/budget/<YYYY-MM>/<sequence>.json`, each entry carrying the running total. An entry
is written with the store's atomic create (the same rule as claims), and only as the next
sequence number after the entry its total was computed from; so when two runs reserve at the
same moment, one wins and the other reads the new total and decides again. Together they can
never reserve past the limit. A settlement replaces a reservation's estimate with what was
really paid (usually less). A run that dies keeps its reservation: the month stays on the safe
side.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field

from chargen_resources.gemini.ledger import DocumentStore
from chargen_resources.storage.layout import ledger_folder, ledger_key

SEQUENCE_WIDTH = 8


CEILING_VARIABLE = "CHARGEN_MAX_RUN_COST_USD"
BUDGET_VARIABLE = "CHARGEN_MONTHLY_BUDGET_USD"


def dollars_from_env(variable: str) -> float | None:
    """The amount of dollars `variable` holds (None when unset); ValueError naming it when it
    is not a finite amount of 0 or more (nan compares false with every cost: a guard open)."""
    value = os.environ.get(variable)
    if not value:
        return None
    try:
        amount = float(value)
    except ValueError:
        amount = math.nan
    if not math.isfinite(amount) or amount < 0:
        raise ValueError(
            f"{variable}={value!r} is not an amount of dollars; set it to a number such as 25 "
            "or 0.5 (0 or more), or unset it"
        )
    return amount


def _now() -> datetime:
    return datetime.now(UTC)


class BudgetEntry(BaseModel):
    sequence: int
    kind: Literal["reserve", "settle"]
    run_id: str | None
    amount_usd: float  # a reservation's estimate, or a settlement's correction (actual - reserved)
    total_usd: float  # the month's reserved-or-spent total after this entry
    at: datetime = Field(default_factory=_now)


class BudgetExceeded(RuntimeError):
    def __init__(self, amount: float, spent: float, limit: float, month: str) -> None:
        self.amount, self.spent, self.limit = amount, spent, limit
        super().__init__(
            f"this run would cost about ${amount:.2f}, and the monthly budget of ${limit:.2f} "
            f"for {month} has ${max(limit - spent, 0):.2f} left (${spent:.2f} spent or reserved); "
            "nothing was sent. Raise CHARGEN_MONTHLY_BUDGET_USD (monthly_budget_usd on the gemini "
            "resource), select fewer characters, or wait for next month"
        )


class Reservation(BaseModel):
    month: str
    amount_usd: float
    run_id: str | None


class MonthlyBudget:
    def __init__(
        self,
        store: DocumentStore,
        prefix: str,
        limit_usd: float,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._store = store
        self._prefix = prefix.strip("/")
        self.limit_usd = limit_usd
        self._clock = clock

    def _month(self) -> str:
        return f"{self._clock():%Y-%m}"

    def _latest(self, month: str) -> BudgetEntry | None:
        folder = ledger_folder(self._prefix, "budget", month)
        keys = [k for k in self._store.list_keys(folder) if k.removeprefix(folder)[:-5].isdigit()]
        if not keys:
            return None
        return BudgetEntry.model_validate_json(self._store.get_bytes(max(keys)))

    def spent(self) -> float:
        """Reserved or spent this month, by every run."""
        latest = self._latest(self._month())
        return latest.total_usd if latest else 0.0

    def _append(
        self, month: str, make: Callable[[BudgetEntry | None], BudgetEntry | None]
    ) -> BudgetEntry | None:
        while True:
            latest = self._latest(month)
            entry = make(latest)
            if entry is None:
                return None
            key = ledger_key(self._prefix, "budget", month, f"{entry.sequence:0{SEQUENCE_WIDTH}d}")
            if self._store.create_new(key, entry.model_dump_json().encode(), "application/json"):
                return entry
            # Another run wrote this sequence a moment ago: read its total and decide again.

    def reserve(self, amount_usd: float, run_id: str | None) -> Reservation:
        """Hold `amount_usd` of this month's budget, or raise BudgetExceeded sending nothing."""
        month = self._month()

        def reservation(latest: BudgetEntry | None) -> BudgetEntry:
            spent = latest.total_usd if latest else 0.0
            if spent + amount_usd > self.limit_usd + 1e-9:
                raise BudgetExceeded(amount_usd, spent, self.limit_usd, month)
            return BudgetEntry(
                sequence=(latest.sequence + 1) if latest else 0,
                kind="reserve",
                run_id=run_id,
                amount_usd=amount_usd,
                total_usd=spent + amount_usd,
            )

        self._append(month, reservation)
        return Reservation(month=month, amount_usd=amount_usd, run_id=run_id)

    def settle(self, reservation: Reservation, actual_usd: float) -> None:
        """Replace the reservation's estimate with what the run really paid."""
        correction = actual_usd - reservation.amount_usd

        def settlement(latest: BudgetEntry | None) -> BudgetEntry | None:
            if abs(correction) < 1e-9:
                return None
            spent = latest.total_usd if latest else 0.0
            return BudgetEntry(
                sequence=(latest.sequence + 1) if latest else 0,
                kind="settle",
                run_id=reservation.run_id,
                amount_usd=correction,
                total_usd=spent + correction,
            )

        self._append(reservation.month, settlement)
