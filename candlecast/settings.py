"""Settings: one frozen object built from the environment in entry points and passed down."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from candlecast.errors import SettingsError
from candlecast.intervals import check_interval

STORES = ("local", "hopsworks")
DEFAULT_SYMBOLS = ("BTCUSDT",)
DEFAULT_INTERVAL = "1d"
_SYMBOL = re.compile(r"^[A-Z0-9]{5,20}$")
_KNOWN = {
    "CANDLECAST_HOME",
    "CANDLECAST_STORE",
    "CANDLECAST_STORE_URI",
    "CANDLECAST_REGISTRY_URI",
    "CANDLECAST_SYMBOLS",
    "CANDLECAST_INTERVAL",
    "CANDLECAST_NOW",
    "CANDLECAST_RAW_BUCKET",
    "CANDLECAST_LOG_LEVEL",
    "CANDLECAST_MAX_MODEL_AGE",
}
DEFAULT_MAX_MODEL_AGE = 30  # candles after a model's fitting data ends before forecasts warn
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# No exchange served candles before this day (Bitcoin's first block); a clock earlier is a typo.
EARLIEST_NOW = datetime(2009, 1, 3, tzinfo=UTC)
# The standard AWS variables the local store passes to deltalake for s3:// tables.
AWS_STORAGE_ENV = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
)


@dataclass(frozen=True)
class Settings:
    """Everything configurable about a run. Build it with `Settings.from_env()` in entry points."""

    home: Path = Path(".candlecast")
    store: str = "local"
    store_uri: str | None = None
    registry_uri: str | None = None
    binance_api_url: str | None = None
    binance_vision_url: str | None = None
    symbols: tuple[str, ...] = DEFAULT_SYMBOLS
    interval: str = DEFAULT_INTERVAL
    now: datetime | None = None
    raw_bucket: str | None = None
    max_model_age: int = DEFAULT_MAX_MODEL_AGE
    log_level: str = "WARNING"
    hopsworks_project: str | None = None
    hopsworks_host: str | None = None
    hopsworks_api_key: str | None = field(default=None, repr=False)
    hopsworks_api_key_secret: str | None = None
    aws_storage: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.store not in STORES:
            raise SettingsError(
                f"CANDLECAST_STORE={self.store!r} is not a known store; "
                f"use one of: {', '.join(STORES)}"
            )
        check_interval(self.interval)
        for symbol in self.symbols:
            check_symbol(symbol)
        if not self.symbols:
            raise SettingsError("at least one symbol is needed (e.g. CANDLECAST_SYMBOLS=BTCUSDT)")
        if self.max_model_age < 1:
            raise SettingsError(
                f"CANDLECAST_MAX_MODEL_AGE must be a whole number of candles >= 1, "
                f"got {self.max_model_age}"
            )
        if self.log_level not in LOG_LEVELS:
            raise SettingsError(
                f"CANDLECAST_LOG_LEVEL={self.log_level!r} is not a log level; "
                f"use one of: {', '.join(LOG_LEVELS)}"
            )
        if self.now is not None:
            check_now(self.now)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from environment variables (unset ones take their defaults)."""
        env = os.environ if env is None else env
        unknown = sorted(k for k in env if k.startswith("CANDLECAST_") and k not in _KNOWN)
        if unknown:
            raise SettingsError(
                f"unknown setting(s) {', '.join(unknown)}; "
                f"known ones are: {', '.join(sorted(_KNOWN))}"
            )
        symbols = env.get("CANDLECAST_SYMBOLS")
        now = env.get("CANDLECAST_NOW")
        return cls(
            home=Path(env.get("CANDLECAST_HOME") or ".candlecast"),
            store=env.get("CANDLECAST_STORE") or "local",
            store_uri=env.get("CANDLECAST_STORE_URI") or None,
            registry_uri=env.get("CANDLECAST_REGISTRY_URI") or None,
            binance_api_url=env.get("BINANCE_API_URL") or None,
            binance_vision_url=env.get("BINANCE_VISION_URL") or None,
            symbols=parse_symbols(symbols) if symbols else DEFAULT_SYMBOLS,
            interval=env.get("CANDLECAST_INTERVAL") or DEFAULT_INTERVAL,
            now=parse_time(now, "CANDLECAST_NOW") if now else None,
            raw_bucket=env.get("CANDLECAST_RAW_BUCKET") or None,
            max_model_age=_whole(env.get("CANDLECAST_MAX_MODEL_AGE"), DEFAULT_MAX_MODEL_AGE),
            log_level=(env.get("CANDLECAST_LOG_LEVEL") or "WARNING").strip().upper(),
            hopsworks_project=env.get("HOPSWORKS_PROJECT") or None,
            hopsworks_host=env.get("HOPSWORKS_HOST") or None,
            hopsworks_api_key=env.get("HOPSWORKS_API_KEY") or None,
            hopsworks_api_key_secret=env.get("HOPSWORKS_API_KEY_SECRET") or None,
            aws_storage={key: env[key] for key in AWS_STORAGE_ENV if env.get(key)},
        )

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with some fields replaced (None values are ignored), validated again."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @property
    def store_location(self) -> str:
        """Where the local store keeps its tables: CANDLECAST_STORE_URI or CANDLECAST_HOME/store."""
        return self.store_uri or str(self.home / "store")

    @property
    def registry_location(self) -> str:
        """Where the embedded model registry keeps its versions: CANDLECAST_REGISTRY_URI (a folder
        or an s3:// prefix) or CANDLECAST_HOME/registry."""
        return self.registry_uri or str(self.home / "registry")

    def clock(self) -> datetime:
        """The current time in UTC, or the fixed one from CANDLECAST_NOW / --now."""
        return self.now or datetime.now(UTC)


def check_now(now: datetime) -> datetime:
    """Return `now` or raise: a fixed clock lies between 2009-01-03 and a day from the real one."""
    latest = datetime.now(UTC) + timedelta(days=1)
    if not EARLIEST_NOW <= now <= latest:
        raise SettingsError(
            f"the clock {now:%Y-%m-%d %H:%M} (--now or CANDLECAST_NOW) is outside "
            f"{EARLIEST_NOW:%Y-%m-%d} .. {latest:%Y-%m-%d}; pass a time when candles existed"
        )
    return now


def check_symbol(symbol: str) -> str:
    """Return the symbol or raise: symbols are upper-case exchange pairs such as BTCUSDT."""
    if not _SYMBOL.match(symbol):
        raise SettingsError(
            f"symbol {symbol!r} is not a valid Binance pair; use upper-case letters and digits, "
            "e.g. BTCUSDT or ETHUSDT"
        )
    return symbol


def parse_symbols(text: str) -> tuple[str, ...]:
    """Parse 'BTCUSDT,ETHUSDT' (case-insensitive, spaces ignored) into a validated tuple."""
    symbols = tuple(dict.fromkeys(s.strip().upper() for s in text.split(",") if s.strip()))
    if not symbols:
        raise SettingsError("no symbols given; pass e.g. --symbols BTCUSDT,ETHUSDT")
    return tuple(check_symbol(s) for s in symbols)


def parse_time(text: str, what: str = "time") -> datetime:
    """Parse an ISO 8601 date or time; naive values are taken as UTC."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise SettingsError(
            f"{what}={text!r} is not an ISO 8601 date or time; use e.g. 2025-12-31 "
            "or 2025-12-31T00:00:00Z"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _whole(text: str | None, default: int) -> int:
    if not text:
        return default
    if not text.strip().isdigit():
        raise SettingsError(
            f"CANDLECAST_MAX_MODEL_AGE={text!r} is not a whole number of candles, e.g. 30"
        )
    return int(text)
