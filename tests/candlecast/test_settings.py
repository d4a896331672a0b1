"""Settings: built from the environment, defaults, and rejection of unknown values."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from candlecast.errors import SettingsError
from candlecast.intervals import INTERVALS
from candlecast.settings import Settings, parse_symbols, parse_time


def test_it_uses_the_documented_defaults() -> None:
    """It defaults to the local store under ./.candlecast, BTCUSDT and 1d."""
    settings = Settings.from_env({})
    assert settings.home == Path(".candlecast")
    assert settings.store == "local"
    assert settings.store_location == str(Path(".candlecast") / "store")
    assert settings.registry_location == Path(".candlecast") / "registry"
    assert (settings.symbols, settings.interval) == (("BTCUSDT",), "1d")
    assert settings.binance_api_url is None and settings.now is None


def test_it_reads_every_variable() -> None:
    """It takes home, store URI, symbols, interval, clock and the Binance URL from the env."""
    settings = Settings.from_env(
        {
            "CANDLECAST_HOME": "/data/cc",
            "CANDLECAST_STORE_URI": "s3://bucket/store",
            "CANDLECAST_SYMBOLS": "ethusdt, BTCUSDT,ethusdt",
            "CANDLECAST_INTERVAL": "4h",
            "CANDLECAST_NOW": "2025-06-01T12:00:00Z",
            "BINANCE_API_URL": "http://127.0.0.1:9000/api",
        }
    )
    assert settings.store_location == "s3://bucket/store"
    assert settings.registry_location == Path("/data/cc/registry")
    assert settings.symbols == ("ETHUSDT", "BTCUSDT")
    assert settings.interval == "4h"
    assert settings.clock() == datetime(2025, 6, 1, 12, tzinfo=UTC)
    assert settings.binance_api_url == "http://127.0.0.1:9000/api"


@pytest.mark.parametrize(
    ("env", "listed"),
    [
        ({"CANDLECAST_STORE": "sqlite"}, "local, hopsworks"),
        ({"CANDLECAST_INTERVAL": "2d"}, ", ".join(INTERVALS)),
        ({"CANDLECAST_SYMBOLS": "btc-usdt"}, "BTCUSDT"),
        ({"CANDLECAST_NOW": "yesterday"}, "ISO 8601"),
    ],
)
def test_it_rejects_unknown_values_listing_the_valid_ones(env: dict, listed: str) -> None:
    """It raises SettingsError whose message names what is allowed."""
    with pytest.raises(SettingsError, match=listed.replace(".", r"\.")):
        Settings.from_env(env)


def test_it_rejects_unknown_candlecast_variables() -> None:
    """It refuses a misspelt CANDLECAST_* variable instead of silently ignoring it."""
    with pytest.raises(
        SettingsError, match="CANDLECAST_SYMBOL\\b.*known ones are: .*CANDLECAST_SYMBOLS"
    ):
        Settings.from_env({"CANDLECAST_SYMBOL": "ETHUSDT"})


def test_it_is_frozen_and_overrides_revalidate() -> None:
    """It cannot be mutated; overrides return a validated copy."""
    settings = Settings.from_env({})
    with pytest.raises(AttributeError):
        settings.interval = "1h"  # type: ignore[misc]
    assert settings.with_overrides(interval="1h", symbols=None).interval == "1h"
    with pytest.raises(SettingsError):
        settings.with_overrides(interval="7m")


def test_it_parses_symbols_and_times() -> None:
    """It normalises symbol lists and treats naive times as UTC."""
    assert parse_symbols(" btcusdt ,ETHUSDT,") == ("BTCUSDT", "ETHUSDT")
    with pytest.raises(SettingsError, match="no symbols"):
        parse_symbols(" , ")
    assert parse_time("2025-01-02") == datetime(2025, 1, 2, tzinfo=UTC)
    assert parse_time("2025-01-02T03:00+02:00") == datetime(2025, 1, 2, 1, tzinfo=UTC)
