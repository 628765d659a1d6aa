"""EmulatorSettings from CHARGEN_EMULATOR_* variables."""

from __future__ import annotations

from chargen_resources.emulator.settings import EmulatorSettings


def test_settings_from_env() -> None:
    settings = EmulatorSettings.from_env(
        {
            "CHARGEN_EMULATOR_PENDING_SECONDS": "0",
            "CHARGEN_EMULATOR_IMAGE_DELIVERY": "cumulative",
            "CHARGEN_EMULATOR_FAIL_STATUS": "429",
            "CHARGEN_EMULATOR_DRAFT_IMAGES": "2",
            "CHARGEN_EMULATOR_REQUIRE_API_KEY": "false",
        }
    )
    assert settings.pending_seconds == 0 and settings.image_delivery == "cumulative"
    assert settings.fail_status == 429 and settings.draft_images == 2
    assert settings.require_api_key is False
    assert EmulatorSettings.from_env({}).running_seconds == 3.0
