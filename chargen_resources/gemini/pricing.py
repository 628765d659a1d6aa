"""Estimated cost of Gemini usage, in US dollars.

Prices are the public list prices per million tokens at the time of writing; batch jobs cost half.
They are estimates for planning, not invoices: override them in config when Google's change.
"""

from __future__ import annotations

from pydantic import BaseModel

BATCH_DISCOUNT = 0.5


class ModelPrice(BaseModel):
    input_per_million: float
    output_per_million: float


PRICES: dict[str, ModelPrice] = {
    "gemini-2.5-flash": ModelPrice(input_per_million=0.30, output_per_million=2.50),
    "gemini-2.5-flash-lite": ModelPrice(input_per_million=0.10, output_per_million=0.40),
    "gemini-3-flash-preview": ModelPrice(input_per_million=0.50, output_per_million=3.00),
    "gemini-2.5-flash-image": ModelPrice(input_per_million=0.30, output_per_million=30.00),
    "gemini-3-pro-image-preview": ModelPrice(input_per_million=2.00, output_per_million=120.00),
}


def price_for(model: str) -> ModelPrice | None:
    name = model.removeprefix("models/")
    if name in PRICES:
        return PRICES[name]
    # Versioned names ("gemini-2.5-flash-001") price like their family.
    family = max((known for known in PRICES if name.startswith(known)), key=len, default=None)
    return PRICES[family] if family else None


def estimate_cost(
    model: str, prompt_tokens: int, output_tokens: int, *, batch: bool = True
) -> float | None:
    """Dollars for one request; thought tokens count as output. None for an unknown model."""
    price = price_for(model)
    if price is None:
        return None
    dollars = (
        prompt_tokens * price.input_per_million + output_tokens * price.output_per_million
    ) / 1_000_000
    return round(dollars * (BATCH_DISCOUNT if batch else 1.0), 6)
