from pathlib import Path

from chargen_resources.emulator import RunningEmulator
from chargen_resources.gemini.connection import ConnectionSettings, connect


def test_without_a_key_the_embedded_emulator_answers(tmp_path: Path) -> None:
    connection = connect(ConnectionSettings(emulator_state_dir=tmp_path / "emu"))
    assert connection.backend == "emulator" and connection.base_url.startswith("http://127.0.0.1:")
    told = connection.describe()
    assert "Gemini emulator" in told and "backend: emulator" in told
    assert "(set GEMINI_API_KEY to use Google)" in told
    files = list(connection.client.files.list())
    assert files == []
    again = connect(ConnectionSettings(emulator_state_dir=tmp_path / "emu"))
    assert again.base_url == connection.base_url  # one emulator per process and state dir


def test_a_key_goes_to_google_and_is_never_described() -> None:
    connection = connect(ConnectionSettings(api_key="AIza-secret-value"))
    assert connection.backend == "google"
    assert connection.base_url == "https://generativelanguage.googleapis.com"
    assert "secret" not in connection.describe()


def test_a_base_url_sends_requests_there_and_an_emulator_is_named_one(
    emulator: RunningEmulator,
) -> None:
    connection = connect(ConnectionSettings(api_key="k", base_url=emulator.base_url))
    assert connection.backend == "emulator"  # `chargen-emulator serve` is recognised
    # The key is set: what sends requests to the emulator is the base URL, and it is named.
    assert "(GEMINI_BASE_URL points at it; unset it to use Google)" in connection.describe()
    proxy = connect(ConnectionSettings(api_key="k", base_url="http://127.0.0.1:9"))
    assert proxy.backend == "custom"
    assert connection.client.models.generate_content(model="gemini-2.5-flash", contents="hi").text


def test_the_key_is_not_in_the_settings_printed_form() -> None:
    from chargen_resources.gemini.connection import ConnectionSettings

    settings = ConnectionSettings(api_key="AIza-SECRET-KEY", base_url="http://example.test")
    assert "AIza-SECRET-KEY" not in repr(settings) and "example.test" in repr(settings)
