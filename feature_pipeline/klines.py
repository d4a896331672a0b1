"""Candle frames: kline arrays <-> the `candles` schema, closed candles and gaps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from candlecast.errors import ValidationError
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
        out[column] = _numbers(out, column).astype("float64")
    out["trades"] = _numbers(out, "trades").astype("Int64")
    return out.reset_index(drop=True)


def _numbers(frame: pd.DataFrame, column: str) -> pd.Series:
    """The column as numbers (nulls stay null); a value that is not one is a ValidationError."""
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() & raw.notna()
    if column == "trades":
        bad |= values.notna() & (values % 1 != 0)
    if bad.any():
        at = int(np.flatnonzero(bad.to_numpy())[0])
        value = raw.iloc[at]
        shown = repr(value) if isinstance(value, str) else str(value)
        kind = "whole numbers" if column == "trades" else "numbers"
        raise ValidationError(
            f"column {column} must hold {kind}, but row {at + 1} (the candle opening "
            f"{frame['open_time'].iloc[at]:%Y-%m-%d %H:%M}) has {shown} "
            f"({int(bad.sum())} such row(s) in all); fix or drop those rows"
        )
    return values


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
            "open": _floats(data[1]),
            "high": _floats(data[2]),
            "low": _floats(data[3]),
            "close": _floats(data[4]),
            "volume": _floats(data[5]),
            "quote_volume": pd.Series(data[7], dtype="object"),
            "trades": pd.Series(data[8], dtype="object"),
        }
    )
    return conform(frame)


def _floats(values: Sequence[object]) -> np.ndarray | pd.Series:
    try:
        return np.asarray(values, dtype="float64")
    except (TypeError, ValueError):  # conform names the value that is not a number
        return pd.Series(values, dtype="object")


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
    # As datetime64: a tz-aware column's plain to_numpy() makes a Timestamp object per row.
    times = frame["open_time"].sort_values().to_numpy(dtype="datetime64[ns]")
    step = np.timedelta64(interval_ms(interval), "ms")
    deltas = np.diff(times)
    at = np.flatnonzero(deltas > step)
    return [
        Gap(
            after=pd.Timestamp(times[i], tz="UTC").to_pydatetime(),
            before=pd.Timestamp(times[i + 1], tz="UTC").to_pydatetime(),
            missing=int(deltas[i] // step) - 1,
        )
        for i in at
    ]
