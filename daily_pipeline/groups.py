"""The two groups of the live loop: `predictions` (forecasts as they are made) and `outcomes`."""

from __future__ import annotations

import pyarrow as pa

from feature_pipeline.groups import TIME
from feature_store.base import FeatureGroupSpec

LIVE = "live"  # made within one interval of the origin candle's close
HINDCAST = "hindcast"  # made later, as of the origin (a missed day, or `candlecast hindcast`)
KINDS = (LIVE, HINDCAST)

KEY = ("symbol", "interval", "model", "origin_time", "horizon")

_KEY_FIELDS = [
    pa.field("symbol", pa.string(), nullable=False),
    pa.field("interval", pa.string(), nullable=False),
    pa.field("model", pa.string(), nullable=False),  # the registry name, e.g. btcusdt-1d-garch
    pa.field("origin_time", TIME, nullable=False),  # open time of the last candle the forecast saw
    pa.field("horizon", pa.int64(), nullable=False),  # candles ahead
]

_FORECAST_FIELDS = [
    pa.field("target_time", TIME, nullable=False),  # open time of the forecast candle
    pa.field("version", pa.int64(), nullable=False),  # 0: the untrained baseline
    pa.field("served", pa.bool_(), nullable=False),  # the series' served model when made
    pa.field("kind", pa.string(), nullable=False),  # live or hindcast
    pa.field("made_at", TIME, nullable=False),
    pa.field("trained_until", TIME),  # the last candle its fitted parameters saw (None: none)
    pa.field("last_close", pa.float64(), nullable=False),  # the origin candle's close
    pa.field("median", pa.float64(), nullable=False),
    pa.field("low", pa.float64(), nullable=False),  # the 80% interval of the close, as served
    pa.field("high", pa.float64(), nullable=False),
    pa.field("band_scale", pa.float64(), nullable=False),  # adaptive factor of the band (1: none)
]

PREDICTIONS = FeatureGroupSpec(
    name="predictions",
    version=1,
    schema=pa.schema([*_KEY_FIELDS, *_FORECAST_FIELDS]),
    primary_key=KEY,
    event_time="origin_time",
    description="Each model's forecasts of the close 1..30 candles after each origin, as made.",
)

OUTCOMES = FeatureGroupSpec(
    name="outcomes",
    version=1,
    schema=pa.schema(
        [
            *_KEY_FIELDS,
            *_FORECAST_FIELDS,
            pa.field("actual", pa.float64(), nullable=False),  # the target candle's close
            pa.field("error", pa.float64(), nullable=False),  # median - actual
            pa.field("inside", pa.bool_(), nullable=False),  # low <= actual <= high
            pa.field("interval_score", pa.float64(), nullable=False),  # Winkler, alpha 0.2
        ]
    ),
    primary_key=KEY,
    event_time="target_time",
    description="Logged forecasts scored against the close of their target candle.",
)
