from chargen_resources.gemini.pricing import estimate_cost, price_for


def test_batch_price_is_half_the_interactive_price() -> None:
    interactive = estimate_cost("gemini-3-pro-image-preview", 100, 1120, batch=False)
    batch = estimate_cost("gemini-3-pro-image-preview", 100, 1120)
    assert interactive is not None and batch is not None
    assert batch == interactive / 2
    assert round(interactive, 4) == round((100 * 2.0 + 1120 * 120.0) / 1e6, 4)


def test_versioned_and_prefixed_names_price_like_their_family() -> None:
    assert price_for("models/gemini-2.5-flash-001") == price_for("gemini-2.5-flash")


def test_unknown_models_have_no_estimate() -> None:
    assert estimate_cost("my-tuned-model", 1, 1) is None
