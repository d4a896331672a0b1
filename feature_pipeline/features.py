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

KEY = ["symbol", "interval", "open_time"]
REQUIRED = [*KEY, "high", "low", "close", "volume"]

RETURN_LAGS = (1, 3, 7, 14, 30)
VOLATILITY_WINDOWS = (7, 30)
SMA_WINDOWS = (7, 30, 50)
MACD_FAST, MACD_SLOW, MACD_SIGNAL = 12, 26, 9
WILDER_PERIOD = 14  # RSI and ATR
BOLLINGER_WINDOW, BOLLINGER_WIDTH = 20, 2.0
VOLUME_Z_WINDOW = 30
SPANS_PER_WINDOW = 4  # an exponential average's window is this many spans long

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

LOOKBACK: int = max(
    max(RETURN_LAGS) + 1,
    max(VOLATILITY_WINDOWS) + 1,
    max(SMA_WINDOWS),
    _window(MACD_SLOW) + _window(MACD_SIGNAL) - 1,
    _window(_WILDER_SPAN) + 1,
    BOLLINGER_WINDOW,
    VOLUME_Z_WINDOW,
)
"""Candles (including the row itself) that one feature row depends on."""


def _exponential_weights(alpha: float, length: int) -> np.ndarray:
    """Truncated EMA weights, oldest first, summing to 1 (plain float products: reproducible)."""
    weights, factor = [], alpha
    for _ in range(length):
        weights.append(factor)
        factor *= 1.0 - alpha
    total = 0.0
    for w in weights:
        total += w
    return np.array(weights[::-1]) / total


_FAST = _exponential_weights(2.0 / (MACD_FAST + 1), _window(MACD_FAST))
_SLOW = _exponential_weights(2.0 / (MACD_SLOW + 1), _window(MACD_SLOW))
_SIGNAL = _exponential_weights(2.0 / (MACD_SIGNAL + 1), _window(MACD_SIGNAL))
_WILDER = _exponential_weights(1.0 / WILDER_PERIOD, _window(_WILDER_SPAN))
_DOW_SIN = np.array([math.sin(2.0 * math.pi * d / 7.0) for d in range(7)])
_DOW_COS = np.array([math.cos(2.0 * math.pi * d / 7.0) for d in range(7)])


@dataclass(frozen=True)
class _Candles:
    """The candles the formulas need, as contiguous arrays sorted by key."""

    symbol: np.ndarray  # object, one per row
    interval: np.ndarray  # object, one per row
    micros: np.ndarray  # int64 open_time, microseconds since the epoch (UTC)
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    position: np.ndarray  # 0-based row number inside the row's (symbol, interval) series


def engineer(candles: pd.DataFrame) -> pd.DataFrame:
    """The FEATURES rows of closed candles (any series, any row order), warm-up rows dropped."""
    data = _sorted_candles(candles)
    keep = np.flatnonzero(data.position >= LOOKBACK - 1)
    values = np.empty((1 + len(FEATURE_COLUMNS), len(keep)))
    values[0] = data.close[keep]
    if len(keep):
        features = _feature_arrays(data)
        for row, name in enumerate(FEATURE_COLUMNS, start=1):
            values[row] = features[name][keep]
    _check_finite(values, data, keep)
    out = pd.DataFrame(values.T, columns=["close", *FEATURE_COLUMNS], copy=False)
    times = pd.Series(data.micros[keep].view("datetime64[us]")).dt.tz_localize("UTC")
    out.insert(0, "open_time", times)
    out.insert(0, "interval", data.interval[keep])
    out.insert(0, "symbol", data.symbol[keep])
    return out


def _sorted_candles(candles: pd.DataFrame) -> _Candles:
    """The needed columns sorted by key, after checking what the formulas rely on."""
    missing = [c for c in REQUIRED if c not in candles.columns]
    if missing:
        raise ValidationError(
            f"engineer needs candle columns {missing}; pass rows in the CANDLES schema"
        )
    micros = _utc_micros(candles["open_time"])
    symbol_code, symbols = pd.factorize(candles["symbol"], sort=True)
    interval_code, intervals = pd.factorize(candles["interval"], sort=True)
    if (symbol_code < 0).any() or (interval_code < 0).any():
        raise ValidationError("symbol and interval must be set on every candle")
    order = np.lexsort((micros, interval_code, symbol_code))
    symbol_code, interval_code, micros = symbol_code[order], interval_code[order], micros[order]
    starts = np.ones(len(order), dtype=bool)
    starts[1:] = (np.diff(symbol_code) != 0) | (np.diff(interval_code) != 0)
    duplicate = ~starts[1:] & (np.diff(micros) == 0)
    if duplicate.any():
        at = int(np.argmax(duplicate))
        raise ValidationError(
            f"duplicate candle {symbols[symbol_code[at]]} {intervals[interval_code[at]]} "
            f"{pd.Timestamp(int(micros[at]), unit='us', tz='UTC')}: each (symbol, interval, "
            "open_time) must appear once; deduplicate before engineering"
        )
    index = np.arange(len(order))
    data = _Candles(
        symbol=np.asarray(symbols, dtype=object)[symbol_code],
        interval=np.asarray(intervals, dtype=object)[interval_code],
        micros=micros,
        **{name: _column(candles, name, order) for name in ("high", "low", "close", "volume")},
        position=index - np.maximum.accumulate(np.where(starts, index, 0)),
    )
    _check_values(data)
    return data


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


def _column(candles: pd.DataFrame, name: str, order: np.ndarray) -> np.ndarray:
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
        out |= {f"vol_{w}": _window_std(ret_1, w, ddof=1) for w in VOLATILITY_WINDOWS}
        out |= {f"close_sma_{w}": log_close - np.log(_window_mean(close, w)) for w in SMA_WINDOWS}
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


def _window_sum(x: np.ndarray, length: int, weights: np.ndarray | None = None) -> np.ndarray:
    """out[t] = sum_j weights[j] * x[t-length+1+j], added oldest first; NaN where too short."""
    n = len(x)
    out = np.full(n, np.nan)
    if n < length:
        return out
    valid = n - length + 1
    acc = x[:valid].copy() if weights is None else x[:valid] * weights[0]
    term = np.empty(valid)
    for j in range(1, length):
        if weights is None:
            np.add(acc, x[j : j + valid], out=acc)
        else:
            np.multiply(x[j : j + valid], weights[j], out=term)
            np.add(acc, term, out=acc)
    out[length - 1 :] = acc
    return out


def _window_mean(x: np.ndarray, length: int) -> np.ndarray:
    return _window_sum(x, length) / length


def _window_std(x: np.ndarray, length: int, ddof: int) -> np.ndarray:
    """Two-pass std of each window: deviations from the window's own mean, summed in order."""
    mean = _window_mean(x, length)
    n = len(x)
    out = np.full(n, np.nan)
    if n < length:
        return out
    valid = n - length + 1
    centre = mean[length - 1 :]
    acc = np.zeros(valid)
    deviation = np.empty(valid)
    for j in range(length):
        np.subtract(x[j : j + valid], centre, out=deviation)
        np.multiply(deviation, deviation, out=deviation)
        np.add(acc, deviation, out=acc)
    out[length - 1 :] = np.sqrt(acc / (length - ddof))
    return out


def _ema(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return _window_sum(x, len(weights), weights)


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
    mean = _window_mean(close, BOLLINGER_WINDOW)
    std = _window_std(close, BOLLINGER_WINDOW, ddof=0)
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
    mean = _window_mean(log_volume, VOLUME_Z_WINDOW)
    std = _window_std(log_volume, VOLUME_Z_WINDOW, ddof=0)
    flat = std <= FLAT_LOG_VOLUME_STD
    z = np.where(flat, 0.0, (log_volume - mean) / np.where(flat, 1.0, std))
    return {"volume_change": _lag_difference(log_volume, 1), "volume_z": z}


def _check_finite(values: np.ndarray, data: _Candles, keep: np.ndarray) -> None:
    finite = np.isfinite(values).all(axis=0)
    if not finite.all():
        at = keep[int(np.argmin(finite))]
        raise ValidationError(
            f"a feature is not finite at {data.symbol[at]} {data.interval[at]} "
            f"{pd.Timestamp(int(data.micros[at]), unit='us', tz='UTC')}; a bug in features.py"
        )
