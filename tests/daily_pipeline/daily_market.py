"""The simulated market of the daily-run tests: a Binance simulator whose clock the tests move."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from candlecast_sim.simulator import RunningSimulator

from candlecast.settings import Settings
from feature_store.local import LocalFeatureStore


@dataclass
class Market:
    """The simulator plus a home folder: `at(now)` moves the exchange's clock and ours together."""

    simulator: RunningSimulator
    home: Path
    symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT")

    def at(self, now: datetime, **changes: object) -> Settings:
        self.simulator.state.now = now
        settings = Settings(
            home=self.home, binance_api_url=self.simulator.url, symbols=self.symbols
        )
        return settings.with_overrides(now=now, **changes)

    def store(self, name: str = "store") -> LocalFeatureStore:
        return LocalFeatureStore(str(self.home / name))


def utc(text: str) -> datetime:
    """2025-03-01 or 2025-03-01T00:05 as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
