"""The two feature groups every pipeline writes and reads: `candles` and `features`."""

from __future__ import annotations

import pyarrow as pa

from feature_store.base import FeatureGroupSpec

TIME = pa.timestamp("us", tz="UTC")

_KEY = [
    pa.field("symbol", pa.string(), nullable=False),
    pa.field("interval", pa.string(), nullable=False),
    pa.field("open_time", TIME, nullable=False),
]

CANDLES = FeatureGroupSpec(
    name="candles",
    version=1,
    schema=pa.schema(
        [
            *_KEY,
            pa.field("close_time", TIME, nullable=False),
            pa.field("open", pa.float64(), nullable=False),
            pa.field("high", pa.float64(), nullable=False),
            pa.field("low", pa.float64(), nullable=False),
            pa.field("close", pa.float64(), nullable=False),
            pa.field("volume", pa.float64(), nullable=False),
            pa.field("quote_volume", pa.float64()),
            pa.field("trades", pa.int64()),
        ]
    ),
    description="Closed Binance candles (OHLCV), one row per symbol, interval and open time.",
)

# Model inputs, in order. Every one is scale-free; `features.py` documents each in one line.
FEATURE_COLUMNS: tuple[str, ...] = (
    "ret_1",
    "ret_3",
    "ret_7",
    "ret_14",
    "ret_30",
    "vol_7",
    "vol_30",
    "close_sma_7",
    "close_sma_30",
    "close_sma_50",
    "macd",
    "macd_signal",
    "rsi_14",
    "bb_pctb",
    "atr_14",
    "range_hl",
    "volume_change",
    "volume_z",
    "dow_sin",
    "dow_cos",
)

# Bump when any feature definition changes: a new version is a new table, old ones stay readable.
FEATURES_VERSION = 1

FEATURES = FeatureGroupSpec(
    name="features",
    version=FEATURES_VERSION,
    schema=pa.schema(
        [
            *_KEY,
            # The candle's close: the reference price for labels and charts, never a model input.
            pa.field("close", pa.float64(), nullable=False),
            *[pa.field(name, pa.float64(), nullable=False) for name in FEATURE_COLUMNS],
        ]
    ),
    description="Engineered, scale-free daily features computed from closed candles only.",
)
