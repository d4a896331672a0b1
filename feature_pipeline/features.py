"""Feature definitions: scale-free features of closed candles over finite windows (pure).

Every feature row at candle t is a deterministic function of exactly the `LOOKBACK` candles
t-LOOKBACK+1 .. t of its (symbol, interval) series, bit for bit, whatever rows the input frame
starts with. That is what makes "backfill to D, then daily runs to E" byte-identical to "one
backfill to E". So there are no running accumulators: no `ewm`, no Wilder recursion, no pandas
`rolling()` sums (their online add/subtract depends on where the frame starts). Each window is
reduced on its own, term by term in a fixed order, with elementwise IEEE operations only.
Exponential averages (MACD's EMAs, Wilder's RSI and ATR smoothing) are finite windows of truncated
exponential weights normalised to sum 1, four spans long, so the weight left out is about 3e-4 of
the total. Maintained TA libraries (ta, pandas-ta, TA-Lib) compute these indicators with recursive
EMAs whose value depends on the first row they see, so none of them meets this requirement.

Bit-exactness holds for one numpy build on one CPU family: `log`/`log1p` may round the last bit
differently on another CPU's vector instructions, so compare fingerprints made on the same stack.
Windows count rows of a series, not clock time: a window that spans an exchange outage (a real gap
in 4h data) reaches further back in time. Warm-up rows (fewer than `LOOKBACK` candles) are dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from candlecast.errors import ValidationError
from feature_pipeline.groups import FEATURE_COLUMNS

REQUIRED = ["symbol", "interval", "open_time", "high", "low", "close", "volume"]

RETURN_LAGS = (1, 3, 7, 14, 30)
VOLATILITY_WINDOWS = (7, 30)
SMA_WINDOWS = (7, 30, 50)
MACD_FAST, MACD_SLOW, MACD_SIGNAL = 12, 26, 9
WILDER_PERIOD = 14  # RSI and ATR
BOLLINGER_WINDOW, BOLLINGER_WIDTH = 20, 2.0
VOLUME_Z_WINDOW = 30
SPANS_PER_WINDOW = 4  # an exponential average's window is this many spans long
CHUNK_ROWS = 32_768  # rows engineered at a time (cache-sized; results do not depend on it)

# Below these spreads a window counts as flat (a ratio would only amplify rounding noise).
FLAT_PRICE_STD = 1e-10  # Bollinger std relative to its mean
FLAT_LOG_VOLUME_STD = 1e-9  # std of log(1 + volume)

DEFINITIONS: dict[str, str] = {
    "ret_1": "log(close_t / close_t-1), the 1-candle log return",
    "ret_3": "log(close_t / close_t-3)",
    "ret_7": "log(close_t / close_t-7)",
    "ret_14": "log(close_t / close_t-14)",
    "ret_30": "log(close_t / close_t-30)",
    "vol_7": "sample std (ddof=1) of the last 7 one-candle log returns",
    "vol_30": "sample std (ddof=1) of the last 30 one-candle log returns",
    "close_sma_7": "log(close_t / simple mean of the last 7 closes)",
    "close_sma_30": "log(close_t / simple mean of the last 30 closes)",
    "close_sma_50": "log(close_t / simple mean of the last 50 closes)",
    "macd": "(EMA12 - EMA26 of close) / close_t; EMAs are 48/104-candle truncated windows",
    "macd_signal": "EMA9 of `macd` as a 36-candle truncated exponential window",
    "rsi_14": "Wilder RSI(14) in [0, 1]: gains / (gains + losses), 108-candle window; 0.5 if flat",
    "bb_pctb": "Bollinger %B (20, 2 population std): (close - lower) / (upper - lower); flat: 0.5",
    "atr_14": "Wilder ATR(14) of the true range over a 108-candle window, divided by close_t",
    "range_hl": "(high_t - low_t) / close_t",
    "volume_change": "log(1 + volume_t) - log(1 + volume_t-1); log1p keeps zero volume defined",
    "volume_z": "z-score of log(1 + volume_t) in its last 30 candles (population std), 0 if flat",
    "dow_sin": "sin(2 pi d / 7), d = UTC weekday of open_time (Monday = 0)",
    "dow_cos": "cos(2 pi d / 7), d = UTC weekday of open_time (Monday = 0)",
}


def _window(span: float) -> int:
    return int(SPANS_PER_WINDOW * span)


_WILDER_SPAN = 2 * WILDER_PERIOD - 1  # Wilder's alpha = 1/14 is the EMA alpha of span 27


@dataclass(frozen=True)
class _Exponential:
    """A truncated exponential average as two stacked windows (fewer passes than one long window).

    `inner` weighs lags 0..block-1 (oldest first); `outer` weighs those block sums every `block`
    rows, so the product of the two covers lags 0..length-1 with weights alpha q^k / total.
    """

    inner: np.ndarray
    outer: np.ndarray

    @property
    def block(self) -> int:
        return len(self.inner)

    @property
    def length(self) -> int:
        return len(self.inner) * len(self.outer)


def _exponential(alpha: float, length: int) -> _Exponential:
    """Weights for `length` lags, normalised to sum 1 (plain float products: reproducible)."""
    block = min(
        (d for d in range(1, length + 1) if length % d == 0), key=lambda d: abs(d * d - length)
    )
    powers = [1.0]
    for _ in range(length - 1):
        powers.append(powers[-1] * (1.0 - alpha))
    total = 0.0
    for power in powers:
        total += alpha * power
    outer = [alpha * powers[b * block] / total for b in range(length // block)]
    return _Exponential(inner=np.array(powers[:block][::-1]), outer=np.array(outer[::-1]))


_FAST = _exponential(2.0 / (MACD_FAST + 1), _window(MACD_FAST))
_SLOW = _exponential(2.0 / (MACD_SLOW + 1), _window(MACD_SLOW))
_SIGNAL = _exponential(2.0 / (MACD_SIGNAL + 1), _window(MACD_SIGNAL))
_WILDER = _exponential(1.0 / WILDER_PERIOD, _window(_WILDER_SPAN))
LOOKBACK: int = max(
    max(RETURN_LAGS) + 1,
    max(VOLATILITY_WINDOWS) + 1,
    max(SMA_WINDOWS),
    _SLOW.length + _SIGNAL.length - 1,
    _WILDER.length + 1,
    BOLLINGER_WINDOW,
    VOLUME_Z_WINDOW,
)
"""Candles (including the row itself) that one feature row depends on."""

_DOW_SIN = np.array([math.sin(2.0 * math.pi * d / 7.0) for d in range(7)])
_DOW_COS = np.array([math.cos(2.0 * math.pi * d / 7.0) for d in range(7)])


@dataclass(frozen=True)
class _Candles:
    """The candles the formulas need, as contiguous arrays sorted by key."""

    symbols: np.ndarray  # the distinct symbols, sorted
    intervals: np.ndarray  # the distinct intervals, sorted
    series: np.ndarray  # per row: symbol index * len(intervals) + interval index
    micros: np.ndarray  # int64 open_time, microseconds since the epoch (UTC)
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def rows(self, start: int, stop: int) -> _Candles:
        """The rows start..stop-1 (views, no copies)."""
        arrays = (self.series, self.micros, self.high, self.low, self.close, self.volume)
        return _Candles(self.symbols, self.intervals, *(a[start:stop] for a in arrays))

    def position(self) -> np.ndarray:
        """0-based row number of each candle inside its (symbol, interval) series."""
        index = np.arange(len(self.series))
        starts = np.r_[True, np.diff(self.series) != 0][: len(index)]
        return index - np.maximum.accumulate(np.where(starts, index, 0))

    def describe(self, row: int) -> str:
        symbol, interval = divmod(int(self.series[row]), len(self.intervals))
        time = pd.Timestamp(int(self.micros[row]), unit="us", tz="UTC")
        return f"{self.symbols[symbol]} {self.intervals[interval]} {time}"


def engineer(candles: pd.DataFrame) -> pd.DataFrame:
    """The FEATURES rows of closed candles (any series, any row order), warm-up rows dropped."""
    data = _sorted_candles(candles)
    kept = data.position() >= LOOKBACK - 1
    values = _feature_values(data, kept)
    symbol, interval = np.divmod(data.series[kept], len(data.intervals))
    out = pd.DataFrame(values.T, columns=["close", *FEATURE_COLUMNS], copy=False)
    out.insert(0, "symbol", data.symbols[symbol])
    out.insert(1, "interval", data.intervals[interval])
    times = data.micros[kept].view("datetime64[us]")
    out.insert(2, "open_time", pd.Series(times).dt.tz_localize("UTC"))
    return out


def _feature_values(data: _Candles, kept: np.ndarray) -> np.ndarray:
    """close and the features of the kept rows, one row per column, computed chunk by chunk.

    Chunks keep the arrays in the CPU cache; each chunk carries the LOOKBACK - 1 rows before it,
    so every kept window is reduced exactly as it would be in one piece.
    """
    values = np.empty((1 + len(FEATURE_COLUMNS), int(kept.sum())))
    values[0] = data.close[kept]
    done = 0
    for start in range(0, len(data.series), CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, len(data.series))
        mask = kept[start:stop]
        count = int(mask.sum())
        if not count:
            continue
        first = max(0, start - LOOKBACK + 1)
        features = _feature_arrays(data.rows(first, stop))
        rows = slice(None) if count == stop - start else mask  # a slice copies much faster
        for row, name in enumerate(FEATURE_COLUMNS, start=1):
            chunk = values[row, done : done + count]
            chunk[:] = features[name][start - first :][rows]
            if not np.isfinite(chunk).all():
                at = np.flatnonzero(mask)[np.argmin(np.isfinite(chunk))] + start
                raise ValidationError(
                    f"{name} is not finite at {data.describe(at)}; a bug in features.py"
                )
        done += count
    return values


def _sorted_candles(candles: pd.DataFrame) -> _Candles:
    """The needed columns sorted by key, after checking what the formulas rely on."""
    missing = [c for c in REQUIRED if c not in candles.columns]
    if missing:
        raise ValidationError(
            f"engineer needs candle columns {missing}; pass rows in the CANDLES schema"
        )
    micros = _utc_micros(candles["open_time"])
    symbol_code, symbols = _codes(candles["symbol"])
    interval_code, intervals = _codes(candles["interval"])
    series = symbol_code * len(intervals) + interval_code
    order = _key_order(series, micros)
    data = _Candles(
        symbols,
        intervals,
        series[order],
        micros[order],
        *(_column(candles, name, order) for name in ("high", "low", "close", "volume")),
    )
    _check_unique(data)
    _check_values(data)
    return data


def _codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Each row's index into the sorted distinct values (hashing only where the value changes)."""
    array = values.to_numpy(dtype=object)
    heads = np.flatnonzero(np.r_[True, array[1:] != array[:-1]])[: len(array)]
    head_codes, uniques = pd.factorize(array[heads], sort=True)
    if (head_codes < 0).any():
        raise ValidationError("symbol and interval must be set on every candle")
    codes = np.repeat(head_codes.astype(np.int64), np.diff(np.r_[heads, len(array)]))
    return codes, np.asarray(uniques, dtype=object)


def _key_order(series: np.ndarray, micros: np.ndarray) -> np.ndarray | slice:
    """The permutation that sorts rows by key (a no-copy slice when they already are)."""
    step = np.diff(series)
    if ((step > 0) | ((step == 0) & (np.diff(micros) > 0))).all():
        return slice(None)
    return np.lexsort((micros, series))


def _check_unique(data: _Candles) -> None:
    duplicate = (np.diff(data.series) == 0) & (np.diff(data.micros) == 0)
    if duplicate.any():
        raise ValidationError(
            f"duplicate candle {data.describe(int(np.argmax(duplicate)))}: each (symbol, interval, "
            "open_time) must appear once; deduplicate before engineering"
        )


def _utc_micros(time: pd.Series) -> np.ndarray:
    """open_time as int64 microseconds since the epoch; it must be timezone-aware and set."""
    if not isinstance(time.dtype, pd.DatetimeTZDtype):
        raise ValidationError(
            f"open_time must be a timezone-aware UTC timestamp, got {time.dtype}; "
            "convert it with pd.to_datetime(..., utc=True)"
        )
    if time.isna().any():
        raise ValidationError("open_time must be set on every candle")
    return np.asarray(time.dt.tz_convert("UTC").astype("datetime64[us, UTC]").array.asi8)


def _column(candles: pd.DataFrame, name: str, order: np.ndarray | slice) -> np.ndarray:
    return np.ascontiguousarray(candles[name].to_numpy(dtype=np.float64, na_value=np.nan)[order])


def _check_values(data: _Candles) -> None:
    """Prices must be finite and positive (logs, ratios), volumes finite and non-negative."""
    for name in ("high", "low", "close"):
        values = getattr(data, name)
        if not (np.isfinite(values) & (values > 0)).all():
            raise ValidationError(
                f"{name} must be finite and > 0 on every candle; drop or repair bad rows"
            )
    if not (np.isfinite(data.volume) & (data.volume >= 0)).all():
        raise ValidationError(
            "volume must be finite and >= 0 on every candle; drop or repair bad rows"
        )


def _feature_arrays(data: _Candles) -> dict[str, np.ndarray]:
    """Every feature on every row of the concatenated series (junk where a window leaves it)."""
    close, high, low = data.close, data.high, data.low
    with np.errstate(all="ignore"):
        log_close = np.log(close)
        ret_1 = _lag_difference(log_close, 1)
        out = {f"ret_{k}": _lag_difference(log_close, k) for k in RETURN_LAGS}
        out |= {f"vol_{w}": _window_mean_std(ret_1, w, ddof=1)[1] for w in VOLATILITY_WINDOWS}
        out |= {
            f"close_sma_{w}": log_close - np.log(_window_sum(close, w) / w) for w in SMA_WINDOWS
        }
        out |= _macd(close)
        out["rsi_14"] = _rsi(close)
        out["bb_pctb"] = _bollinger_pctb(close)
        out["atr_14"] = _atr(high, low, close) / close
        out["range_hl"] = (high - low) / close
        out |= _volume_features(data.volume)
        # 1970-01-01 was a Thursday (Monday = 0)
        weekday = (np.floor_divide(data.micros, 86_400_000_000) + 3) % 7
        out["dow_sin"], out["dow_cos"] = _DOW_SIN[weekday], _DOW_COS[weekday]
    return out


def _lag_difference(x: np.ndarray, lag: int) -> np.ndarray:
    out = np.full_like(x, np.nan)
    out[lag:] = x[lag:] - x[:-lag]
    return out


def _window_sum(
    x: np.ndarray, length: int, weights: np.ndarray | None = None, stride: int = 1
) -> np.ndarray:
    """out[t] = sum_j weights[j] * x[t - (length-1-j)*stride], added oldest first; NaN if short."""
    n, span = len(x), (length - 1) * stride + 1
    out = np.full(n, np.nan)
    if n < span:
        return out
    valid = n - span + 1
    acc = x[:valid].copy() if weights is None else x[:valid] * weights[0]
    term = np.empty(valid)
    for j in range(1, length):
        window = x[j * stride : j * stride + valid]
        if weights is None:
            np.add(acc, window, out=acc)
        else:
            np.multiply(window, weights[j], out=term)
            np.add(acc, term, out=acc)
    out[span - 1 :] = acc
    return out


def _window_mean_std(x: np.ndarray, length: int, ddof: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and two-pass std of each window: deviations from the window's own mean, in order."""
    mean = _window_sum(x, length) / length
    std = np.full(len(x), np.nan)
    if len(x) < length:
        return mean, std
    valid = len(x) - length + 1
    centre = mean[length - 1 :]
    acc = np.zeros(valid)
    deviation = np.empty(valid)
    for j in range(length):
        np.subtract(x[j : j + valid], centre, out=deviation)
        np.multiply(deviation, deviation, out=deviation)
        np.add(acc, deviation, out=acc)
    std[length - 1 :] = np.sqrt(acc / (length - ddof))
    return mean, std


def _ema(x: np.ndarray, weights: _Exponential) -> np.ndarray:
    block_sums = _window_sum(x, weights.block, weights.inner)
    return _window_sum(block_sums, len(weights.outer), weights.outer, stride=weights.block)


def _macd(close: np.ndarray) -> dict[str, np.ndarray]:
    line = (_ema(close, _FAST) - _ema(close, _SLOW)) / close
    return {"macd": line, "macd_signal": _ema(line, _SIGNAL)}


def _rsi(close: np.ndarray) -> np.ndarray:
    change = _lag_difference(close, 1)
    gains = _ema(np.maximum(change, 0.0), _WILDER)
    losses = _ema(np.maximum(-change, 0.0), _WILDER)
    total = gains + losses
    flat = total == 0.0
    return np.where(flat, 0.5, gains / np.where(flat, 1.0, total))


def _bollinger_pctb(close: np.ndarray) -> np.ndarray:
    mean, std = _window_mean_std(close, BOLLINGER_WINDOW, ddof=0)
    flat = std <= FLAT_PRICE_STD * mean
    lower = mean - BOLLINGER_WIDTH * std
    width = np.where(flat, 1.0, 2.0 * BOLLINGER_WIDTH * std)
    return np.where(flat, 0.5, (close - lower) / width)


def _atr(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    previous = np.full_like(close, np.nan)
    previous[1:] = close[:-1]
    true_range = np.maximum(high, previous) - np.minimum(low, previous)
    return _ema(true_range, _WILDER)


def _volume_features(volume: np.ndarray) -> dict[str, np.ndarray]:
    log_volume = np.log1p(volume)
    mean, std = _window_mean_std(log_volume, VOLUME_Z_WINDOW, ddof=0)
    flat = std <= FLAT_LOG_VOLUME_STD
    z = np.where(flat, 0.0, (log_volume - mean) / np.where(flat, 1.0, std))
    return {"volume_change": _lag_difference(log_volume, 1), "volume_z": z}
