"""What the Binance simulator answers: market data, its clock, request weight, faults, endpoints.

Numbers are served as Binance does (strings). Quote volume and trade count are served as JSON null
when the file does not have them (the 6-column CSVs), so no client ever reads an invented 0.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from candlecast.errors import SettingsError
from candlecast.intervals import epoch_ms, to_ms
from feature_pipeline.csv_source import read_kline_file, series_of
from feature_pipeline.klines import klines_from_frame

logger = logging.getLogger(__name__)

FAULTS = ("429", "418", "500", "slow", "malformed", "empty")
WEIGHT_LIMIT_1M = 6000
BINANCE_INTERVALS = (
    "1s",
    "1m",
    "3m",
    "5m",
    "15m",
    "30m",
    "1h",
    "2h",
    "4h",
    "6h",
    "8h",
    "12h",
    "1d",
)
_ENDPOINT_WEIGHT = {"ping": 1, "time": 1, "exchangeInfo": 20}


class BinanceError(Exception):
    """An error answer in Binance's shape: HTTP status plus {"code": ..., "msg": ...}."""

    def __init__(self, status: int, code: int, msg: str, retry_after: int | None = None) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg, self.retry_after = status, code, msg, retry_after


def klines_weight(limit: int) -> int:
    """Binance's request weight for /klines by limit."""
    return 1 if limit < 100 else 2 if limit < 500 else 5 if limit <= 1000 else 10


@dataclass
class Series:
    """One symbol at one interval, ready to slice by open time."""

    open_ms: np.ndarray
    close_ms: np.ndarray
    rows: list[list[Any]]


@dataclass
class MarketData:
    """The kline files in a folder, loaded on first use."""

    root: Path
    _files: dict[tuple[str, str], list[Path]] = field(default_factory=dict)
    _loaded: dict[tuple[str, str], Series] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        for path in sorted(Path(self.root).glob("*.csv")):
            key = series_of(path)
            if key is not None:
                self._files.setdefault(key, []).append(path)
        if not self._files:
            raise SettingsError(
                f"no kline files (SYMBOL_INTERVAL.csv) in {self.root}; "
                "pass --data with a folder such as ../shared/data/binance"
            )

    @property
    def symbols(self) -> list[str]:
        return sorted({symbol for symbol, _ in self._files})

    def series(self, symbol: str, interval: str) -> Series | None:
        key = (symbol, interval)
        if key not in self._files:
            return None
        with self._lock:
            if key not in self._loaded:
                frames = [read_kline_file(p, symbol, interval) for p in self._files[key]]
                frame = pd.concat(frames).sort_values("open_time").drop_duplicates("open_time")
                self._loaded[key] = Series(
                    epoch_ms(frame["open_time"]).to_numpy(),
                    epoch_ms(frame["close_time"]).to_numpy(),
                    klines_from_frame(frame),
                )
            return self._loaded[key]

    def last_open_ms(self, symbol: str) -> int | None:
        """The symbol's last open time, from its smallest file (enough to tell a delisting)."""
        smallest = min(
            self._intervals(symbol), key=lambda i: self._files[(symbol, i)][0].stat().st_size
        )
        series = self.series(symbol, smallest)
        return int(series.open_ms[-1]) if series is not None and len(series.open_ms) else None

    def _intervals(self, symbol: str) -> Iterable[str]:
        return [interval for s, interval in self._files if s == symbol]


@dataclass
class SimulatorState:
    """Everything the request handlers share: data, clock, faults and the weight counter."""

    data: MarketData
    now: datetime | None = None
    fault_rate: float = 0.0
    seed: int = 0
    retry_after: int = 1
    slow_seconds: float = 2.0
    faults: tuple[str, ...] = FAULTS  # the kinds random faults are drawn from
    weight_limit: int = WEIGHT_LIMIT_1M
    script: deque[str | None] = field(default_factory=deque)
    requests: int = 0
    faults_served: list[str] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    # Binance Vision (candlecast_sim.vision): file names served damaged or as 404, a header row
    vision_corrupt: set[str] = field(default_factory=set)
    vision_missing: set[str] = field(default_factory=set)
    vision_header: bool = False
    vision_requests: list[str] = field(default_factory=list)  # every Vision path asked for
    vision_zips: dict[str, bytes] = field(default_factory=dict)  # built zips, by name
    lock: threading.Lock = field(default_factory=threading.Lock)  # guards the Vision fields
    _weight: dict[int, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def now_ms(self) -> int:
        return to_ms(self.now or datetime.now(UTC))

    def use_weight(self, weight: int) -> int:
        """Add a request's weight to the current minute; the minute's total."""
        minute = int(time.time() // 60)
        with self._lock:
            self.requests += 1
            self._weight = {minute: self._weight.get(minute, 0) + weight}
            return self._weight[minute]

    def note_vision(self, path: str) -> None:
        """Count a Binance Vision request (REST requests are counted by `use_weight`)."""
        with self.lock:
            self.vision_requests.append(path)

    def next_fault(self) -> str | None:
        """The fault to serve for this request: scripted ones first (None: answer normally),
        then random ones at `fault_rate`, reproducible by `seed`."""
        with self._lock:
            if self.script:
                fault = self.script.popleft()
            elif self.fault_rate > 0 and self._random.random() < self.fault_rate:
                fault = self._random.choice(self.faults)
            else:
                return None
            if fault is not None:
                self.faults_served.append(fault)
            return fault


def request_weight(endpoint: str, params: dict[str, str]) -> int:
    if endpoint == "klines":
        limit = params.get("limit", "500")
        return klines_weight(int(limit)) if limit.isdigit() else 1
    return _ENDPOINT_WEIGHT.get(endpoint, 1)


def seconds_to_next_minute() -> int:
    return 60 - int(time.time()) % 60


def fault_error(fault: str, retry_after: int) -> BinanceError:
    if fault == "429":
        return BinanceError(
            429,
            -1003,
            "Too many requests; current limit is 6000 request weight per 1 MINUTE.",
            retry_after,
        )
    if fault == "418":
        return BinanceError(
            418, -1003, "Way too much request weight used; IP banned for a while.", retry_after
        )
    return BinanceError(
        500, -1001, "Internal error; unable to process your request. Please try again."
    )


def answer(state: SimulatorState, endpoint: str, params: dict[str, str]) -> Any:
    if endpoint == "ping":
        return {}
    if endpoint == "time":
        return {"serverTime": state.now_ms()}
    if endpoint == "exchangeInfo":
        return _exchange_info(state, params.get("symbol"))
    if endpoint == "klines":
        return _klines(state, params)
    raise BinanceError(
        404,
        -1000,
        f"Unknown endpoint /api/v3/{endpoint}; served: ping, time, exchangeInfo, klines.",
    )


def _exchange_info(state: SimulatorState, symbol: str | None) -> dict[str, Any]:
    symbols = state.data.symbols
    if symbol is not None:
        if symbol not in symbols:
            raise BinanceError(400, -1121, "Invalid symbol.")
        symbols = [symbol]
    now = state.now_ms()
    listed = []
    for name in symbols:
        last = state.data.last_open_ms(name)
        trading = last is not None and now - last <= 3 * 86_400_000
        quote = "USDT" if name.endswith("USDT") else name[-3:]
        listed.append(
            {
                "symbol": name,
                "status": "TRADING" if trading else "BREAK",
                "baseAsset": name.removesuffix(quote),
                "quoteAsset": quote,
            }
        )
    limits = [
        {
            "rateLimitType": "REQUEST_WEIGHT",
            "interval": "MINUTE",
            "intervalNum": 1,
            "limit": state.weight_limit,
        }
    ]
    return {
        "timezone": "UTC",
        "serverTime": now,
        "rateLimits": limits,
        "exchangeFilters": [],
        "symbols": listed,
    }


def _klines(state: SimulatorState, params: dict[str, str]) -> list[list[Any]]:
    symbol = params.get("symbol")
    if not symbol:
        raise BinanceError(
            400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."
        )
    interval = params.get("interval")
    if interval not in BINANCE_INTERVALS:
        raise BinanceError(400, -1120, "Invalid interval.")
    if symbol not in state.data.symbols:
        raise BinanceError(400, -1121, "Invalid symbol.")
    limit = _int(params.get("limit", "500"), "limit")
    if not 1 <= limit <= 1000:
        raise BinanceError(400, -1130, "Data sent for parameter 'limit' is not valid.")
    series = state.data.series(symbol, interval)
    if series is None:
        return []
    now = state.now_ms()
    end = min(_int(params.get("endTime", str(now)), "endTime"), now)
    stop = int(np.searchsorted(series.open_ms, end, side="right"))
    if "startTime" in params:
        first = int(
            np.searchsorted(series.open_ms, _int(params["startTime"], "startTime"), side="left")
        )
        chosen = range(first, min(stop, first + limit))
    else:
        chosen = range(max(0, stop - limit), stop)
    return [
        _partial(series.rows[i], now) if series.close_ms[i] >= now else series.rows[i]
        for i in chosen
    ]


def _partial(row: list[Any], now: int) -> list[Any]:
    """The candle containing `now`, still open: volume, quote volume and trades pro rata."""
    share = (now - row[0]) / (row[6] + 1 - row[0])
    out = list(row)
    out[5] = repr(float(row[5]) * share)
    out[7] = None if row[7] is None else repr(float(row[7]) * share)
    out[8] = None if row[8] is None else int(row[8] * share)
    return out


def _int(text: str, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise BinanceError(
            400,
            -1100,
            f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'.",
        ) from None
