"""What Gemini usage costs, in US dollars.

List prices per million tokens as published on Google's Gemini API pricing page; recorded
2026-11-30 from the figures the project was given (the page itself cannot be reached from
here: check it before trusting a budget). Batch jobs cost half. For image models, the output
tokens of a generated image are priced at the image rate, thought tokens at the text rate.
Gemini 3 Pro Image: $120 per million output image tokens, so $0.134 a 1K/2K image (1120
tokens) and $0.24 a 4K image (2000 tokens) interactive, half that in batch.
"""

from __future__ import annotations

from pydantic import BaseModel

BATCH_DISCOUNT = 0.5


class ModelPrice(BaseModel):
    input_per_million: float
    output_per_million: float  # text output, thinking included
    output_image_per_million: float | None = None  # image models: a generated image's tokens


PRICES: dict[str, ModelPrice] = {
    "gemini-2.5-flash": ModelPrice(input_per_million=0.30, output_per_million=2.50),
    "gemini-2.5-flash-lite": ModelPrice(input_per_million=0.10, output_per_million=0.40),
    "gemini-3-flash-preview": ModelPrice(input_per_million=0.50, output_per_million=3.00),
    "gemini-2.5-flash-image": ModelPrice(
        input_per_million=0.30, output_per_million=2.50, output_image_per_million=30.00
    ),
    "gemini-3-pro-image-preview": ModelPrice(
        input_per_million=2.00, output_per_million=12.00, output_image_per_million=120.00
    ),
}


def price_for(model: str) -> ModelPrice | None:
    name = model.removeprefix("models/")
    if name in PRICES:
        return PRICES[name]
    # Versioned names ("gemini-2.5-flash-001") price like their family.
    family = max((known for known in PRICES if name.startswith(known)), key=len, default=None)
    return PRICES[family] if family else None


def estimate_cost(
    model: str,
    prompt_tokens: int,
    output_tokens: int,
    *,
    thoughts_tokens: int = 0,
    batch: bool = True,
) -> float | None:
    """Dollars for one request (None for an unknown model). On an image model the output
    tokens are the generated image's; thoughts are priced as text."""
    price = price_for(model)
    if price is None:
        return None
    output_rate = price.output_image_per_million or price.output_per_million
    dollars = (
        prompt_tokens * price.input_per_million
        + output_tokens * output_rate
        + thoughts_tokens * price.output_per_million
    ) / 1_000_000
    return round(dollars * (BATCH_DISCOUNT if batch else 1.0), 6)
