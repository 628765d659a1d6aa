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
            "CHARGEN_EMULATOR_DOWNLOAD_BYTES_PER_SECOND": "1e6",
            "CHARGEN_EMULATOR_DOWNLOAD_RANGES": "yes",
            "CHARGEN_EMULATOR_CUT_DOWNLOADS": "2",
        }
    )
    assert settings.download_bytes_per_second == 1e6 and settings.download_ranges is True
    assert settings.cut_downloads == 2 and settings.cut_download_fraction == 0.5
    assert settings.pending_seconds == 0 and settings.image_delivery == "cumulative"
    assert settings.fail_status == 429 and settings.draft_images == 2
    assert settings.require_api_key is False
    assert EmulatorSettings.from_env({}).running_seconds == 3.0
