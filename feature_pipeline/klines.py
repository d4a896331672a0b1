"""Candle frames: kline arrays <-> the `candles` schema, closed candles and gaps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from candlecast.intervals import epoch_ms, interval_ms
from feature_pipeline.groups import CANDLES

CANDLE_COLUMNS: tuple[str, ...] = tuple(CANDLES.schema.names)
PRICE_COLUMNS = ("open", "high", "low", "close", "volume")
OPTIONAL_COLUMNS = ("quote_volume", "trades")


@dataclass(frozen=True)
class Gap:
    """Missing candles between two present ones (an exchange outage): nothing is invented."""

    after: datetime
    before: datetime
    missing: int

    def __str__(self) -> str:
        after, before = f"{self.after:%Y-%m-%d %H:%M}", f"{self.before:%Y-%m-%d %H:%M}"
        return f"{self.missing} candle(s) missing between {after} and {before}"


def empty_candles() -> pd.DataFrame:
    """A frame with the `candles` columns and dtypes and no rows."""
    return conform(pd.DataFrame({name: [] for name in CANDLE_COLUMNS}))


def conform(frame: pd.DataFrame) -> pd.DataFrame:
    """Order columns and cast dtypes to the `candles` schema (times as UTC microseconds)."""
    out = frame.loc[:, list(CANDLE_COLUMNS)].copy()
    out["symbol"] = out["symbol"].astype(str)
    out["interval"] = out["interval"].astype(str)
    for column in ("open_time", "close_time"):
        out[column] = pd.to_datetime(out[column], utc=True).astype("datetime64[us, UTC]")
    for column in (*PRICE_COLUMNS, "quote_volume"):
        out[column] = pd.to_numeric(out[column]).astype("float64")
    out["trades"] = pd.to_numeric(out["trades"]).astype("Int64")
    return out.reset_index(drop=True)


def frame_from_klines(rows: Sequence[Sequence[object]], symbol: str, interval: str) -> pd.DataFrame:
    """Binance's 12-field kline arrays as a `candles` frame (null quote volume/trades stay null)."""
    if not rows:
        return empty_candles()
    data = list(zip(*[row[:9] for row in rows], strict=True))
    frame = pd.DataFrame(
        {
            "symbol": symbol,
            "interval": interval,
            "open_time": pd.to_datetime(np.asarray(data[0], dtype="int64"), unit="ms", utc=True),
            "close_time": pd.to_datetime(np.asarray(data[6], dtype="int64"), unit="ms", utc=True),
            "open": np.asarray(data[1], dtype="float64"),
            "high": np.asarray(data[2], dtype="float64"),
            "low": np.asarray(data[3], dtype="float64"),
            "close": np.asarray(data[4], dtype="float64"),
            "volume": np.asarray(data[5], dtype="float64"),
            "quote_volume": pd.to_numeric(pd.Series(data[7], dtype="object")),
            "trades": pd.to_numeric(pd.Series(data[8], dtype="object")),
        }
    )
    return conform(frame)


def klines_from_frame(frame: pd.DataFrame) -> list[list[object]]:
    """A `candles` frame as Binance's 12-field kline arrays (numbers as strings, like Binance).

    Missing quote volume / trades are sent as JSON null, so a client never reads an invented 0.
    """
    open_ms = epoch_ms(frame["open_time"]).to_numpy()
    close_ms = epoch_ms(frame["close_time"]).to_numpy()
    prices = frame[list(PRICE_COLUMNS)].to_numpy()
    quote = frame["quote_volume"].to_numpy(dtype="object", na_value=None)
    trades = frame["trades"].to_numpy(dtype="object", na_value=None)
    rows = []
    for i in range(len(frame)):
        o, h, lo, c, v = (repr(float(x)) for x in prices[i])
        q = None if quote[i] is None else repr(float(quote[i]))
        n = None if trades[i] is None else int(trades[i])
        rows.append([int(open_ms[i]), o, h, lo, c, v, int(close_ms[i]), q, n, None, None, "0"])
    return rows


def closed_only(frame: pd.DataFrame, now: datetime) -> pd.DataFrame:
    """Keep candles whose close time is before `now`; the still-open candle is dropped."""
    return frame.loc[frame["close_time"] < pd.Timestamp(now)].reset_index(drop=True)


def between(frame: pd.DataFrame, start: datetime | None, end: datetime | None) -> pd.DataFrame:
    """Rows with start <= open_time <= end (either bound may be None)."""
    keep = pd.Series(True, index=frame.index)
    if start is not None:
        keep &= frame["open_time"] >= pd.Timestamp(start)
    if end is not None:
        keep &= frame["open_time"] <= pd.Timestamp(end)
    return frame.loc[keep].reset_index(drop=True)


def find_gaps(frame: pd.DataFrame, interval: str) -> list[Gap]:
    """Every place where consecutive candles of one series are more than one interval apart."""
    if len(frame) < 2:
        return []
    times = frame["open_time"].sort_values().to_numpy()
    step = np.timedelta64(interval_ms(interval), "ms")
    deltas = np.diff(times)
    at = np.flatnonzero(deltas > step)
    return [
        Gap(
            after=pd.Timestamp(times[i]).to_pydatetime(),
            before=pd.Timestamp(times[i + 1]).to_pydatetime(),
            missing=int(deltas[i] // step) - 1,
        )
        for i in at
    ]
