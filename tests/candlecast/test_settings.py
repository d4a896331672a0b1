"""Settings: built from the environment, defaults, and rejection of unknown values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from candlecast.errors import SettingsError
from candlecast.intervals import INTERVALS
from candlecast.settings import EARLIEST_NOW, Settings, check_now, parse_symbols, parse_time


def test_it_uses_the_documented_defaults() -> None:
    """It defaults to the local store under ./.candlecast, BTCUSDT and 1d."""
    settings = Settings.from_env({})
    assert settings.home == Path(".candlecast")
    assert settings.store == "local"
    assert settings.store_location == str(Path(".candlecast") / "store")
    assert settings.registry_location == str(Path(".candlecast") / "registry")
    assert (settings.symbols, settings.interval) == (("BTCUSDT",), "1d")
    assert settings.binance_api_url is None and settings.now is None


def test_it_reads_every_variable() -> None:
    """It takes home, store URI, symbols, interval, clock and the Binance URL from the env."""
    settings = Settings.from_env(
        {
            "CANDLECAST_HOME": "/data/cc",
            "CANDLECAST_STORE_URI": "s3://bucket/store",
            "CANDLECAST_REGISTRY_URI": "s3://bucket/registry",
            "CANDLECAST_SYMBOLS": "ethusdt, BTCUSDT,ethusdt",
            "CANDLECAST_INTERVAL": "4h",
            "CANDLECAST_NOW": "2025-06-01T12:00:00Z",
            "BINANCE_API_URL": "http://127.0.0.1:9000/api",
            "BINANCE_VISION_URL": "http://127.0.0.1:9000",
        }
    )
    assert settings.store_location == "s3://bucket/store"
    assert settings.registry_location == "s3://bucket/registry"
    assert settings.symbols == ("ETHUSDT", "BTCUSDT")
    assert settings.interval == "4h"
    assert settings.clock() == datetime(2025, 6, 1, 12, tzinfo=UTC)
    assert settings.binance_api_url == "http://127.0.0.1:9000/api"
    assert settings.binance_vision_url == "http://127.0.0.1:9000"
    assert (
        Settings.from_env({"CANDLECAST_HOME": "/data/cc"}).registry_location == "/data/cc/registry"
    )


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


@pytest.mark.parametrize(
    "now",
    [
        datetime(1900, 1, 1, tzinfo=UTC),
        datetime(2009, 1, 2, 23, 59, tzinfo=UTC),
        datetime.now(UTC) + timedelta(days=2),
    ],
)
def test_it_refuses_a_clock_before_bitcoin_or_after_tomorrow(now: datetime) -> None:
    """It raises SettingsError, in one line naming the allowed range, for --now/CANDLECAST_NOW."""
    with pytest.raises(SettingsError, match=r"is outside 2009-01-03 \.\. ") as raised:
        Settings(now=now)
    assert "\n" not in str(raised.value)
    with pytest.raises(SettingsError, match="CANDLECAST_NOW"):
        Settings.from_env({"CANDLECAST_NOW": now.isoformat()})


def test_it_accepts_the_clock_from_the_first_block_to_tomorrow() -> None:
    """It accepts 2009-01-03 00:00 UTC and a clock a little ahead of the real one."""
    assert Settings(now=EARLIEST_NOW).clock() == datetime(2009, 1, 3, tzinfo=UTC)
    ahead = datetime.now(UTC) + timedelta(hours=23)
    assert check_now(ahead) == ahead


def test_it_refuses_an_unknown_log_level_naming_the_valid_ones() -> None:
    """It takes the log level in any case and refuses one logging does not know."""
    assert Settings.from_env({"CANDLECAST_LOG_LEVEL": " debug "}).log_level == "DEBUG"
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"CANDLECAST_LOG_LEVEL": "BOGUS"})
    assert str(raised.value) == (
        "CANDLECAST_LOG_LEVEL='BOGUS' is not a log level; "
        "use one of: DEBUG, INFO, WARNING, ERROR, CRITICAL"
    )
