"""Series for the training tests: real BTC candles as rows, and synthetic feature series."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from feature_pipeline.groups import FEATURE_COLUMNS

SIGNAL = "volume_z"  # the synthetic series' next return is 2% times this feature


def read_candles(path: Path, symbol: str, interval: str = "1d") -> pd.DataFrame:
    """A Binance CSV (timestamp, open, high, low, close, volume) as CANDLES-shaped rows."""
    raw = pd.read_csv(path)
    candles = pd.DataFrame(
        {
            "symbol": symbol,
            "interval": interval,
            "open_time": pd.to_datetime(raw["timestamp"], utc=True),
        }
    )
    candles["close_time"] = candles["open_time"] + pd.Timedelta(days=1) - pd.Timedelta(1, "ms")
    for column in ("open", "high", "low", "close", "volume"):
        candles[column] = raw[column].astype(float)
    return candles


def synthetic_features(rows: int = 900, seed: int = 7) -> pd.DataFrame:
    """A series in the FEATURES schema whose next log return is 0.02 * volume_z (+ small noise).

    The other features are noise: persistence cannot forecast this series, a model can.
    """
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "symbol": "SYNTHUSDT",
            "interval": "1d",
            "open_time": pd.date_range("2020-01-01", periods=rows, freq="D", tz="UTC"),
        }
    )
    for column in FEATURE_COLUMNS:
        frame[column] = rng.normal(size=rows)
    steps = 0.02 * frame[SIGNAL].to_numpy() + rng.normal(scale=0.002, size=rows)
    log_close = np.log(100.0) + np.concatenate([[0.0], np.cumsum(steps[:-1])])
    frame.insert(3, "close", np.exp(log_close))
    return frame


def trending_features(rows: int = 1100, seed: int = 5) -> pd.DataFrame:
    """A series whose drift is a slowly changing signal stored as `volume_z`.

    signal[t] is AR(1) with coefficient 0.95 and the next log return is 1% x signal[t] plus 0.4%
    noise, so the next 1..7 candles' returns are predictable from the origin row: a network can
    beat persistence at every horizon of the tiny config, significantly.
    """
    rng = np.random.default_rng(seed)
    frame = synthetic_features(rows, seed)
    signal = np.zeros(rows)
    for t in range(1, rows):
        signal[t] = 0.95 * signal[t - 1] + rng.normal(scale=np.sqrt(1 - 0.95**2))
    steps = 0.01 * signal + rng.normal(scale=0.004, size=rows)
    frame[SIGNAL] = signal
    frame["close"] = 100.0 * np.exp(np.concatenate([[0.0], np.cumsum(steps[:-1])]))
    return frame


def random_walk_features(rows: int = 1100, seed: int = 9) -> pd.DataFrame:
    """A random walk (2% daily steps) whose features are all noise: nothing can beat no change."""
    rng = np.random.default_rng(seed)
    frame = synthetic_features(rows, seed)
    frame["close"] = 100.0 * np.exp(np.cumsum(rng.normal(scale=0.02, size=rows)))
    return frame


def regime_features(rows: int = 1200, seed: int = 11) -> pd.DataFrame:
    """A random walk whose volatility rises and falls slowly and is lowest in the test period.

    Daily log-return std is 2% x exp(0.8 sin(2 pi (t - 485) / 800)): with REGIMES, validation
    sits around the peak (about 4%), selection on the falling slope and test in the trough (about
    1%), so a band calibrated on validation is far too wide on test unless it follows the current
    volatility.
    `ret_1`, `vol_7`, `vol_30` and `atr_14` are computed from the closes (known at each row, as
    in the feature pipeline, `atr_14` from |ret_1|); the other features are noise.
    """
    rng = np.random.default_rng(seed)
    sigma = 0.02 * np.exp(0.8 * np.sin(2 * np.pi * (np.arange(rows) - 485) / 800))
    steps = rng.normal(size=rows) * sigma
    frame = synthetic_features(rows, seed)
    frame["close"] = 100.0 * np.exp(np.concatenate([[0.0], np.cumsum(steps[1:])]))
    ret_1 = pd.Series(np.log(frame["close"]).diff().fillna(0.0))
    frame["ret_1"] = ret_1
    frame["vol_7"] = ret_1.rolling(7).std().bfill()
    frame["vol_30"] = ret_1.rolling(30).std().bfill()
    frame["atr_14"] = ret_1.abs().rolling(14).mean().bfill()
    return frame


def with_extremes(frame: pd.DataFrame, seed: int = 3) -> pd.DataFrame:
    """The rows with a `high` and `low` per candle around its open (last close) and close."""
    rng = np.random.default_rng(seed)
    close = frame["close"].to_numpy()
    opening = np.concatenate([[close[0]], close[:-1]])
    out = frame.copy()
    out["high"] = np.maximum(opening, close) * np.exp(np.abs(rng.normal(0, 0.01, len(frame))))
    out["low"] = np.minimum(opening, close) * np.exp(-np.abs(rng.normal(0, 0.01, len(frame))))
    return out


def candles_of(frame: pd.DataFrame) -> pd.DataFrame:
    """CANDLES-shaped rows (daily) for a frame with close, high and low (`with_extremes`)."""
    close = frame["close"].to_numpy()
    return pd.DataFrame(
        {
            "symbol": frame["symbol"].to_numpy(),
            "interval": frame["interval"].to_numpy(),
            "open_time": pd.to_datetime(frame["open_time"], utc=True),
            "close_time": pd.to_datetime(frame["open_time"], utc=True)
            + pd.Timedelta(days=1)
            - pd.Timedelta(1, "ms"),
            "open": np.concatenate([[close[0]], close[:-1]]),
            "high": frame["high"].to_numpy(),
            "low": frame["low"].to_numpy(),
            "close": close,
            "volume": 1000.0,
            "quote_volume": 1000.0 * close,
            "trades": 100,
        }
    )
