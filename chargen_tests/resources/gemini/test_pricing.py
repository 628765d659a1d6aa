from chargen_resources.gemini.pricing import estimate_cost, price_for


def test_batch_price_is_half_the_interactive_price() -> None:
    interactive = estimate_cost("gemini-3-pro-image-preview", 100, 1120, batch=False)
    batch = estimate_cost("gemini-3-pro-image-preview", 100, 1120)
    assert interactive is not None and batch is not None
    assert batch == interactive / 2
    assert round(interactive, 6) == round((100 * 2.0 + 1120 * 120.0) / 1e6, 6)


def test_an_image_costs_what_the_pricing_page_says() -> None:
    assert (
        round(estimate_cost("gemini-3-pro-image-preview", 0, 1120, batch=False) or 0, 4) == 0.1344
    )
    assert round(estimate_cost("gemini-3-pro-image-preview", 0, 2000, batch=False) or 0, 2) == 0.24
    assert round(estimate_cost("gemini-2.5-flash-image", 0, 1290, batch=False) or 0, 4) == 0.0387


def test_thoughts_are_priced_as_text_on_image_models() -> None:
    with_thoughts = estimate_cost("gemini-3-pro-image-preview", 0, 0, thoughts_tokens=1_000_000)
    assert with_thoughts == 12.0 * 0.5


def test_versioned_and_prefixed_names_price_like_their_family() -> None:
    assert price_for("models/gemini-2.5-flash-001") == price_for("gemini-2.5-flash")


def test_unknown_models_have_no_estimate() -> None:
    assert estimate_cost("my-tuned-model", 1, 1) is None
