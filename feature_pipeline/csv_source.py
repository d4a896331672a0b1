"""Kline CSV files as a candle source: Binance Vision dumps and the shared data's header CSVs."""

from __future__ import annotations

import codecs
import io
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from candlecast.errors import SourceError, UnknownSymbolError, ValidationError
from candlecast.intervals import interval_ms
from feature_pipeline.fetch import FetchReport
from feature_pipeline.klines import OPTIONAL_COLUMNS, between, closed_only, conform, empty_candles

logger = logging.getLogger(__name__)

# BTCUSDT_1d.csv, BTCUSDT_1m_2025-08.csv (shared data) and BTCUSDT-1d-2024-01.csv (Binance Vision).
_NAME = re.compile(r"^(?P<symbol>[A-Z0-9]{5,20})[_-](?P<interval>\d+[mhd])(?:[_-].*)?\.csv$")
_VISION_COLUMNS = (
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "trades",
    "taker_buy_base",
    "taker_buy_quote",
    "ignore",
)
# What header CSVs call the trade count (shared data, Binance Vision headers, other exports).
_TRADE_COUNT_NAMES = ("trade_count", "count", "number_of_trades")
# Epoch values above this are microseconds (Binance's spot dumps since 2025), below it milliseconds.
_US_THRESHOLD = 10**14
_HEAD_BYTES = 8192  # enough to tell a header line and binary content


def series_of(path: Path) -> tuple[str, str] | None:
    """The (symbol, interval) a kline file holds, from its name; None for other files."""
    match = _NAME.match(path.name)
    return (match["symbol"], match["interval"]) if match else None


def files_for(root: Path, symbol: str, interval: str) -> list[Path]:
    """The kline files under root (a file or a directory) that hold symbol at interval."""
    paths = [root] if root.is_file() else sorted(root.glob("*.csv"))
    return [p for p in paths if series_of(p) == (symbol, interval)]


def read_kline_file(path: Path, symbol: str, interval: str) -> pd.DataFrame:
    """One kline CSV (any supported layout) as a `candles` frame, sorted and de-duplicated."""
    return _read(path, _first_text(path), str(path), symbol, interval)


def read_kline_bytes(data: bytes, label: str, symbol: str, interval: str) -> pd.DataFrame:
    """Kline CSV content held in memory (e.g. a zip member) as `read_kline_file` reads a file;
    `label` names it in error messages."""
    return _read(io.BytesIO(data), _decoded(data[:_HEAD_BYTES], label), label, symbol, interval)


def _read(
    source: Path | io.BytesIO, head: str, label: str, symbol: str, interval: str
) -> pd.DataFrame:
    has_header = not head[:1].isdigit()
    try:
        if has_header:
            raw = pd.read_csv(source, float_precision="round_trip")
        else:
            raw = pd.read_csv(
                source, header=None, names=_VISION_COLUMNS, float_precision="round_trip"
            )
    except UnicodeDecodeError:
        raise _not_text(label) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise SourceError(
            f"{label}: not a readable kline CSV ({error}); expected Binance kline rows"
        ) from None
    try:
        frame = _normalise(raw, label, symbol, interval)
    except ValidationError as error:
        raise ValidationError(f"{label}: {error}") from None
    return (
        frame.sort_values("open_time")
        .drop_duplicates("open_time", keep="last")
        .reset_index(drop=True)
    )


def _first_text(path: Path) -> str:
    """The file's first bytes as text; binary files (NUL bytes, not UTF-8) are a SourceError."""
    try:
        with path.open("rb") as handle:
            head = handle.read(_HEAD_BYTES)
    except OSError as error:
        raise SourceError(f"{path}: cannot be read ({error.strerror}); check the path") from None
    return _decoded(head, str(path))


def _decoded(head: bytes, label: str) -> str:
    if b"\0" in head:
        raise _not_text(label)
    try:  # incremental: a character cut at the end of the chunk is not an error
        return codecs.getincrementaldecoder("utf-8")().decode(head)
    except UnicodeDecodeError:
        raise _not_text(label) from None


def _not_text(label: str) -> SourceError:
    return SourceError(
        f"{label}: not a text kline CSV (it holds binary or non-UTF-8 bytes); pass a Binance "
        "kline CSV as exported or downloaded from data.binance.vision (unzipped)"
    )


def _normalise(raw: pd.DataFrame, label: str, symbol: str, interval: str) -> pd.DataFrame:
    if "timestamp" in raw.columns:  # shared data: timestamp,open,high,low,close,volume
        raw = raw.rename(columns={"timestamp": "open_time"})
    missing = [
        c for c in ("open_time", "open", "high", "low", "close", "volume") if c not in raw.columns
    ]
    if missing:
        raise SourceError(
            f"{label}: columns {missing} are missing; expected Binance kline columns "
            "(open_time/timestamp, open, high, low, close, volume, ...)"
        )
    open_time = _times(raw["open_time"])
    step = pd.Timedelta(milliseconds=interval_ms(interval))
    close_time = (
        _times(raw["close_time"])
        if "close_time" in raw.columns
        else open_time + step - pd.Timedelta(milliseconds=1)
    )
    frame = raw.assign(symbol=symbol, interval=interval, open_time=open_time, close_time=close_time)
    frame = frame.rename(columns={n: "trades" for n in _TRADE_COUNT_NAMES if n in frame.columns})
    for column in OPTIONAL_COLUMNS:  # 6-column files have neither: null, never an invented 0
        if column not in frame.columns:
            frame[column] = None
    return conform(frame)


def _times(column: pd.Series) -> pd.Series:
    """UTC times in whole milliseconds, as Binance REST gives them (µs dumps end in 999999)."""
    epochs = pd.to_numeric(column, errors="coerce")
    if epochs.notna().any():  # epoch ms or µs; text among them is an error, not a guess
        _refuse_missing(column, epochs.isna())
        unit = "us" if epochs.max() >= _US_THRESHOLD else "ms"
        times = pd.to_datetime(epochs.astype("int64"), unit=unit, utc=True)
    else:
        times = pd.to_datetime(column, utc=True, format="ISO8601", errors="coerce")
        _refuse_missing(column, times.isna())
    return times.dt.floor("ms")


def _refuse_missing(column: pd.Series, bad: pd.Series) -> None:
    if bad.any():
        at = int(bad.to_numpy().nonzero()[0][0])
        value = "no value" if pd.isna(column.iloc[at]) else repr(column.iloc[at])
        raise ValidationError(
            f"column {column.name} must hold epoch milliseconds/microseconds or ISO 8601 times, "
            f"but row {at + 1} has {value} ({int(bad.sum())} such row(s) in all); "
            "fix or drop those rows"
        )


@dataclass
class CsvSource:
    """Candles from kline CSV files under `root`, with the same closed-candle rule as REST."""

    root: Path
    clock: Callable[[], datetime]

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        if not self.root.exists():
            raise SourceError(
                f"csv source {self.root} does not exist; pass csv:PATH to a file or folder"
            )

    @property
    def name(self) -> str:
        return f"csv:{self.root}"

    def load(self, symbol: str, interval: str) -> pd.DataFrame:
        """Every candle the files hold for symbol at interval (open ones included)."""
        paths = files_for(self.root, symbol, interval)
        if not paths:
            raise UnknownSymbolError(
                f"no kline CSV for {symbol} {interval} under {self.root}; expected files named "
                f"{symbol}_{interval}.csv or {symbol}-{interval}-YYYY-MM.csv"
            )
        frames = [read_kline_file(p, symbol, interval) for p in paths]
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        return (
            frame.sort_values("open_time")
            .drop_duplicates("open_time", keep="last")
            .reset_index(drop=True)
        )

    def first_open_time(self, symbol: str, interval: str) -> datetime:
        """The open time of the first candle the files hold (UnknownSymbolError if none)."""
        frame = self.load(symbol, interval)
        if frame.empty:
            raise UnknownSymbolError(
                f"the kline CSVs under {self.root} hold no {symbol} {interval} candles"
            )
        return frame["open_time"].iloc[0].to_pydatetime()

    def fetch(
        self,
        symbol: str,
        interval: str,
        start: datetime | None = None,
        end: datetime | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[pd.DataFrame, FetchReport]:
        """Closed candles with start <= open_time <= end, and what was found on the way."""
        now = self.clock()
        end = min(end or now, now)
        everything = between(self.load(symbol, interval), None, end)
        frame = (
            between(closed_only(everything, now), start, end)
            if len(everything)
            else empty_candles()
        )
        latest = everything["open_time"].iloc[-1].to_pydatetime() if len(everything) else None
        report = FetchReport.of(frame, symbol, interval, start, end, latest)
        if progress is not None:
            progress(len(frame))
        logger.info("csv %s %s: %d closed candles from %s", symbol, interval, len(frame), self.root)
        return frame, report
