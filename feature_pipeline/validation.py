"""Data rules for candles and features (pandera schemas); a broken rule raises ValidationError."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaError, SchemaErrors

from candlecast.errors import ValidationError
from candlecast.intervals import INTERVALS, epoch_ms, interval_ms
from feature_pipeline.groups import FEATURE_COLUMNS

KEY = ["symbol", "interval", "open_time"]
TIME = pd.DatetimeTZDtype("us", "UTC")


def _step_ms(frame: pd.DataFrame) -> pd.Series:
    return frame["interval"].map({i: interval_ms(i) for i in INTERVALS})


def _aligned(frame: pd.DataFrame) -> pd.Series:
    return epoch_ms(frame["open_time"]) % _step_ms(frame) == 0


def _closes_inside(frame: pd.DataFrame) -> pd.Series:
    open_ms, close_ms = epoch_ms(frame["open_time"]), epoch_ms(frame["close_time"])
    return (close_ms > open_ms) & (close_ms < open_ms + _step_ms(frame))


def _increasing(frame: pd.DataFrame) -> pd.Series:
    earlier = frame.groupby(["symbol", "interval"], sort=False)["open_time"].shift()
    return earlier.isna() | (frame["open_time"] > earlier)


def _price(check: pa.Check | None = None) -> pa.Column:
    return pa.Column(float, check or pa.Check.gt(0), nullable=False)


CANDLES_SCHEMA = pa.DataFrameSchema(
    {
        "symbol": pa.Column(str, pa.Check.str_matches(r"^[A-Z0-9]{5,20}$")),
        "interval": pa.Column(str, pa.Check.isin(INTERVALS)),
        "open_time": pa.Column(TIME),
        "close_time": pa.Column(TIME),
        "open": _price(),
        "high": _price(),
        "low": _price(),
        "close": _price(),
        "volume": _price(pa.Check.ge(0)),
        "quote_volume": pa.Column(float, pa.Check.ge(0), nullable=True),
        "trades": pa.Column("Int64", pa.Check.ge(0), nullable=True),
    },
    checks=[
        pa.Check(
            lambda f: f["high"] >= f[["open", "close"]].max(axis=1),
            error="high >= max(open, close)",
        ),
        pa.Check(
            lambda f: f["low"] <= f[["open", "close"]].min(axis=1), error="low <= min(open, close)"
        ),
        pa.Check(_aligned, error="open_time is a multiple of the interval (UTC)"),
        pa.Check(_closes_inside, error="open_time < close_time < open_time + interval"),
        pa.Check(_increasing, error="open_time increases within each series"),
    ],
    unique=KEY,
    strict=True,
    ordered=True,
    name="candles",
)

FEATURES_SCHEMA = pa.DataFrameSchema(
    {
        "symbol": pa.Column(str),
        "interval": pa.Column(str, pa.Check.isin(INTERVALS)),
        "open_time": pa.Column(TIME),
        "close": pa.Column(float, pa.Check.gt(0)),
        **{
            name: pa.Column(float, pa.Check(np.isfinite, error="finite"), nullable=False)
            for name in FEATURE_COLUMNS
        },
    },
    unique=KEY,
    strict=True,
    ordered=True,
    name="features",
)


def validate_candles(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame itself when every candle rule holds; ValidationError naming the broken rules."""
    return _validate(CANDLES_SCHEMA, frame)


def validate_features(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame itself when it fits the `features` group: columns, finite values, unique keys."""
    return _validate(FEATURES_SCHEMA, frame)


def _validate(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> pd.DataFrame:
    try:
        schema.validate(frame.reset_index(drop=True), lazy=True)
        return frame
    except SchemaErrors as errors:
        raise ValidationError(
            f"{schema.name} broke data rules: {_summary(errors)}; nothing was written"
        ) from None
    except SchemaError as error:  # raised before lazy collection (e.g. wrong columns)
        raise ValidationError(
            f"{schema.name} broke a data rule: {error}; nothing was written"
        ) from None


def _summary(errors: SchemaErrors, limit: int = 5) -> str:
    """'rule: N row(s), e.g. row i' for the first few broken rules."""
    cases = errors.failure_cases
    frame_level = cases["schema_context"] == "DataFrameSchema"
    cases = cases.assign(column=cases["column"].where(~frame_level, ""))
    parts = []
    for (column, check), group in cases.groupby(["column", "check"], dropna=False, sort=False):
        rule = f"{column} {check}" if column else str(check)
        rows = group["index"].dropna().unique()
        example = f"row {int(rows[0])}" if len(rows) else repr(group["failure_case"].iloc[0])
        parts.append(f"{rule}: {max(len(rows), 1)} row(s), e.g. {example}")
    more = f" and {len(parts) - limit} more" if len(parts) > limit else ""
    return "; ".join(parts[:limit]) + more


# An open, high or close this many times above the median close of its neighbours (or an open
# or close below 1/this of it) is a data error, not a market move: the largest daily BTC or ETH
# move on record is under 2x. Lows have no lower bound: flash crashes print real wicks near zero
# (ATOMUSDT 2025-10-10 at 0.001, LINKUSDT 2020-03-12 at 0.0001 in the shared candles).
PLAUSIBLE_FACTOR = 20.0
NEIGHBOURS = 21  # the candle and 10 on each side, within its series


def check_plausible(frame: pd.DataFrame, context: pd.DataFrame | None = None) -> pd.DataFrame:
    """The frame itself when its prices are within 20x of the median close of their neighbours.

    `context` holds stored candles of the same series around the frame (the frame's rows win
    where both have a key), so a single new candle is judged against the stored history.
    Raises ValidationError naming the first implausible row; nothing is written.
    """
    if frame.empty:
        return frame
    columns = ["symbol", "interval", "open_time", "close"]
    both = frame[columns]
    if context is not None and len(context):
        both = pd.concat([context[columns], both], ignore_index=True)
        both = both.drop_duplicates(KEY, keep="last")
    both = both.sort_values(KEY, kind="stable")
    median = both.groupby(["symbol", "interval"], sort=False)["close"].transform(
        lambda closes: closes.rolling(NEIGHBOURS, center=True, min_periods=1).median()
    )
    reference = frame[KEY].merge(both[KEY].assign(median=median.to_numpy()), on=KEY, how="left")
    names = ("open", "high", "low", "close")
    prices = frame[list(names)].to_numpy(dtype=np.float64)
    ratio = prices / reference["median"].to_numpy()[:, None]
    floor = np.array([1 / PLAUSIBLE_FACTOR, 0.0, 0.0, 1 / PLAUSIBLE_FACTOR])
    ceiling = np.array([PLAUSIBLE_FACTOR, PLAUSIBLE_FACTOR, np.inf, PLAUSIBLE_FACTOR])
    bad = ~((ratio <= ceiling) & (ratio >= floor))
    if not bad.any():
        return frame
    row, column = (int(i[0]) for i in np.nonzero(bad))
    name = names[column]
    first = frame.iloc[row]
    raise ValidationError(
        f"candles broke the plausibility rule: {first['symbol']} {first['interval']} "
        f"{pd.Timestamp(first['open_time']):%Y-%m-%d %H:%M} has {name} {prices[row, column]:g}, "
        f"more than {PLAUSIBLE_FACTOR:g} times away from the median close "
        f"{reference['median'].iloc[row]:g} of its neighbours ({int(bad.any(axis=1).sum())} "
        "row(s) in all); fix the source data; nothing was written"
    )
