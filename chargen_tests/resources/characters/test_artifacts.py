from chargen_resources.characters.artifacts import stands_for


def test_an_emulators_drawing_stands_only_while_the_emulator_answers() -> None:
    assert stands_for("emulator", "emulator")
    assert not stands_for("emulator", "google")
    assert not stands_for("emulator", "custom")
    assert not stands_for("emulator", None)  # who answers unknown: never kept as finished art


def test_a_real_backends_result_stands_whoever_answers() -> None:
    for made_by in ("google", "custom", None):  # None: recorded before the backend was
        for answering in ("google", "custom", "emulator", None):
            assert stands_for(made_by, answering)
