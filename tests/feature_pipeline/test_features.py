"""Feature definitions: no look-ahead, bit-exact start independence, schema, known values."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from candlecast.errors import ValidationError
from feature_pipeline import features as features_module
from feature_pipeline.features import DEFINITIONS, LOOKBACK, engineer
from feature_pipeline.groups import CANDLES, FEATURE_COLUMNS, FEATURES

REPO = Path(__file__).resolve().parents[2]
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
STEP = {"1d": pd.Timedelta(days=1), "4h": pd.Timedelta(hours=4), "1m": pd.Timedelta(minutes=1)}


def make_candles(
    close: np.ndarray,
    *,
    symbol: str = "BTCUSDT",
    interval: str = "1d",
    start: str = "2024-01-01",
    high: np.ndarray | None = None,
    low: np.ndarray | None = None,
    volume: np.ndarray | None = None,
) -> pd.DataFrame:
    """Rows in the CANDLES schema with consecutive open times."""
    n = len(close)
    step = STEP[interval]
    open_time = pd.date_range(start, periods=n, freq=step, tz="UTC", unit="us")
    high = close * 1.01 if high is None else high
    low = close * 0.99 if low is None else low
    return pd.DataFrame(
        {
            "symbol": symbol,
            "interval": interval,
            "open_time": open_time,
            "close_time": open_time + step - pd.Timedelta(milliseconds=1),
            "open": np.r_[close[:1], close[:-1]],
            "high": high,
            "low": low,
            "close": close,
            "volume": np.full(n, 100.0) if volume is None else volume,
            "quote_volume": np.full(n, 1e6),
            "trades": np.full(n, 10, dtype=np.int64),
        }
    )


def random_candles(seed: int, n: int, **kwargs: object) -> pd.DataFrame:
    """A random walk with flat stretches and zero-volume candles mixed in."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0, 0.03, n) * (rng.random(n) > 0.15)  # some candles do not move
    close = 50.0 * np.exp(np.cumsum(steps))
    high = close * np.exp(np.abs(rng.normal(0.0, 0.02, n)))
    low = close * np.exp(-np.abs(rng.normal(0.0, 0.02, n)))
    volume = rng.lognormal(5.0, 1.5, n) * (rng.random(n) > 0.1)  # some candles trade nothing
    return make_candles(close, high=high, low=low, volume=volume, **kwargs)


def real_candles(data_dir: Path, name: str) -> pd.DataFrame:
    """A shared-data CSV (timestamp,open,high,low,close,volume) adapted to the CANDLES columns."""
    raw = pd.read_csv(data_dir / f"{name}.csv")
    symbol, interval = name.split("_")
    open_time = pd.to_datetime(raw["timestamp"], utc=True).astype("datetime64[us, UTC]")
    return pd.DataFrame(
        {
            "symbol": symbol,
            "interval": interval,
            "open_time": open_time,
            "close_time": open_time + STEP[interval] - pd.Timedelta(milliseconds=1),
            **{c: raw[c].astype(float) for c in ("open", "high", "low", "close", "volume")},
            "quote_volume": np.nan,
            "trades": pd.array([None] * len(raw), dtype="Int64"),
        }
    )


def assert_same_bytes(left: pd.DataFrame, right: pd.DataFrame) -> None:
    """Same keys and bit-identical float values (so -0.0 versus 0.0 would count as a difference)."""
    assert list(left.columns) == list(right.columns)
    assert len(left) == len(right)
    for name in ("symbol", "interval", "open_time"):
        assert left[name].tolist() == right[name].tolist(), name
    for name in ("close", *FEATURE_COLUMNS):
        a = left[name].to_numpy(dtype=np.float64).view(np.int64)
        b = right[name].to_numpy(dtype=np.float64).view(np.int64)
        assert np.array_equal(a, b), f"{name} differs in {int((a != b).sum())} rows"


def rows_at_or_before(features: pd.DataFrame, time: pd.Timestamp) -> pd.DataFrame:
    return features[features["open_time"] <= time].reset_index(drop=True)


@PROPERTY
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(LOOKBACK, LOOKBACK + 80),
    cut=st.floats(0.0, 1.0),
    extra=st.integers(0, 20),
)
def test_no_look_ahead(seed: int, n: int, cut: float, extra: int) -> None:
    """It never changes features at or before t when candles after t change or are appended."""
    candles = random_candles(seed, n + extra)
    t_index = LOOKBACK - 1 + int(cut * (n - LOOKBACK))
    t = candles["open_time"].iloc[t_index]
    changed = candles.copy()
    future = changed["open_time"] > t
    other = random_candles(seed + 1, n + extra)
    for name in ("open", "high", "low", "close", "volume"):
        changed.loc[future, name] = other.loc[future, name]
    until_t = engineer(candles.iloc[: t_index + 1])
    assert len(until_t) == t_index + 2 - LOOKBACK
    assert_same_bytes(until_t, rows_at_or_before(engineer(candles), t))
    assert_same_bytes(until_t, rows_at_or_before(engineer(changed), t))


@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(LOOKBACK, 400), k=st.integers(0, 40))
def test_start_independence_is_bit_exact(seed: int, n: int, k: int) -> None:
    """It gives the same bytes for the last k+1 rows from the full series or its last LOOKBACK+k."""
    candles = random_candles(seed, n)
    k = min(k, n - LOOKBACK)
    full = engineer(candles)
    short = engineer(candles.iloc[-(LOOKBACK + k) :])
    assert len(short) == k + 1
    assert_same_bytes(full.iloc[-(k + 1) :].reset_index(drop=True), short)


@PROPERTY
@given(
    close=st.lists(st.floats(1e-6, 1e6), min_size=LOOKBACK, max_size=LOOKBACK + 30),
    spread=st.floats(0.0, 1.0),
    volume=st.floats(0.0, 1e12),
    k=st.integers(0, 30),
)
def test_extreme_drawn_prices_stay_finite_and_start_independent(
    close: list[float], spread: float, volume: float, k: int
) -> None:
    """It keeps jumps of many orders of magnitude finite, and the start still does not matter."""
    prices = np.array(close)
    volumes = np.resize([volume, 0.0, volume / 3], len(prices))
    candles = make_candles(
        prices, high=prices * (1 + spread), low=prices / (1 + spread), volume=volumes
    )
    full = engineer(candles)
    assert np.isfinite(full[list(FEATURE_COLUMNS)].to_numpy()).all()
    k = min(k, len(prices) - LOOKBACK)
    assert_same_bytes(
        full.iloc[-(k + 1) :].reset_index(drop=True), engineer(candles.iloc[-(LOOKBACK + k) :])
    )


@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), lengths=st.tuples(*[st.integers(1, 3 * LOOKBACK)] * 2))
def test_chunk_size_does_not_change_bytes(seed: int, lengths: tuple[int, int]) -> None:
    """It gives the same bytes whatever size the internal (cache-sized) chunks are."""
    candles = pd.concat(
        [
            random_candles(seed, lengths[0], symbol="BTCUSDT"),
            random_candles(seed + 1, lengths[1], symbol="ETHUSDT"),
        ],
        ignore_index=True,
    )
    reference = engineer(candles)
    for chunk_rows in (16, 100, LOOKBACK, 2 * LOOKBACK + 1):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(features_module, "CHUNK_ROWS", chunk_rows)
            assert_same_bytes(engineer(candles), reference)


@PROPERTY
@given(
    seeds=st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=4),
    lengths=st.lists(st.integers(1, LOOKBACK + 40), min_size=4, max_size=4),
    shuffle_seed=st.integers(0, 2**32 - 1),
)
def test_row_order_and_series_mix_do_not_matter(
    seeds: list[int], lengths: list[int], shuffle_seed: int
) -> None:
    """It gives the same rows for shuffled input and for several series at once as one by one."""
    series = [
        random_candles(seed, length, symbol=symbol, interval=interval)
        for seed, length, (symbol, interval) in zip(
            seeds,
            lengths,
            [("ETHUSDT", "4h"), ("BTCUSDT", "1d"), ("BTCUSDT", "4h"), ("ADAUSDT", "1d")],
            strict=False,
        )
    ]
    mixed = pd.concat(series, ignore_index=True).sample(frac=1.0, random_state=shuffle_seed % 2**31)
    together = engineer(mixed)
    one_by_one = pd.concat([engineer(s) for s in series], ignore_index=True)
    one_by_one = one_by_one.sort_values(["symbol", "interval", "open_time"], ignore_index=True)
    assert_same_bytes(together, one_by_one)
    assert len(together) == sum(max(0, length - LOOKBACK + 1) for length in lengths[: len(seeds)])


@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), exponent=st.floats(-9.0, 6.0))
def test_features_are_scale_free(seed: int, exponent: float) -> None:
    """It gives the same features (to rounding) when every price is multiplied by one factor."""
    candles = random_candles(seed, LOOKBACK + 20)
    scaled = candles.copy()
    for name in ("open", "high", "low", "close"):
        scaled[name] = candles[name] * 10.0**exponent
    ours, theirs = engineer(candles), engineer(scaled)
    columns = list(FEATURE_COLUMNS)
    np.testing.assert_allclose(theirs[columns], ours[columns], rtol=1e-7, atol=1e-9)


@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, LOOKBACK + 60))
def test_output_schema_warm_up_and_ranges(seed: int, n: int) -> None:
    """It drops warm-up rows, fits the FEATURES schema and keeps values finite and in range."""
    candles = random_candles(seed, n)
    features = engineer(candles)
    assert list(features.columns) == FEATURES.schema.names
    pa.Table.from_pandas(features, schema=FEATURES.schema, preserve_index=False)
    assert len(features) == max(0, n - LOOKBACK + 1)
    expected_times = candles["open_time"].iloc[LOOKBACK - 1 :].tolist()
    assert features["open_time"].tolist() == expected_times
    values = features[list(FEATURE_COLUMNS)].to_numpy()
    assert np.isfinite(values).all()
    assert features["rsi_14"].between(0.0, 1.0).all()
    assert (features[["vol_7", "vol_30", "atr_14", "range_hl"]] >= 0).all().all()
    assert features[["dow_sin", "dow_cos"]].abs().le(1.0).all().all()
    # in a window of n values, |x - mean| <= sqrt(n - 1) population std
    assert features["bb_pctb"].sub(0.5).abs().le(math.sqrt(19) / 4 + 1e-9).all()
    assert features["volume_z"].abs().le(math.sqrt(29) + 1e-9).all()


def test_input_from_arrow_and_other_time_units() -> None:
    """It accepts CANDLES read back from Arrow, ns or ms open times and non-UTC zones alike."""
    candles = random_candles(7, LOOKBACK + 5)
    reference = engineer(candles)
    table = pa.Table.from_pandas(candles, schema=CANDLES.schema, preserve_index=False)
    assert_same_bytes(engineer(table.to_pandas()), reference)
    for dtype in ("datetime64[ns, UTC]", "datetime64[ms, UTC]"):
        assert_same_bytes(engineer(candles.astype({"open_time": dtype})), reference)
    berlin = candles.assign(open_time=candles["open_time"].dt.tz_convert("Europe/Berlin"))
    assert_same_bytes(engineer(berlin), reference)
    assert str(reference["open_time"].dtype) == "datetime64[us, UTC]"


def test_lookback_is_exact() -> None:
    """It makes the row at t depend on candle t-LOOKBACK+1 but needs nothing older."""
    candles = random_candles(3, LOOKBACK)
    assert len(engineer(candles.iloc[1:])) == 0
    base = engineer(candles)
    assert len(base) == 1
    oldest = candles.copy()
    oldest.loc[0, ["close", "high", "low"]] *= 1.5
    changed = engineer(oldest)
    differs = [c for c in FEATURE_COLUMNS if changed[c].iloc[0] != base[c].iloc[0]]
    assert differs == ["macd_signal"]


def test_known_values_on_a_linear_series() -> None:
    """It matches hand-computed values on closes 1, 2, ..., LOOKBACK with high/low = close +- 1."""
    close = np.arange(1.0, LOOKBACK + 1.0) + 10.0  # 11 .. 149
    candles = make_candles(close, high=close + 1.0, low=close - 1.0, start="2024-01-01")  # a Monday
    row = engineer(candles).iloc[0]
    last = close[-1]
    assert row["close"] == last
    assert row["ret_1"] == pytest.approx(math.log(last / (last - 1)), rel=1e-12)
    assert row["ret_7"] == pytest.approx(math.log(last / (last - 7)), rel=1e-12)
    assert row["close_sma_7"] == pytest.approx(math.log(last / (last - 3)), rel=1e-12)
    assert row["close_sma_50"] == pytest.approx(math.log(last / (last - 24.5)), rel=1e-12)
    assert row["range_hl"] == pytest.approx(2.0 / last, rel=1e-15)
    assert row["atr_14"] == pytest.approx(2.0 / last, rel=1e-12)  # every true range is 2
    assert row["rsi_14"] == 1.0  # only gains
    half_range = math.sqrt((20**2 - 1) / 12.0)  # population std of 20 consecutive integers
    assert row["bb_pctb"] == pytest.approx((9.5 + 2 * half_range) / (4 * half_range), rel=1e-12)
    assert row["volume_change"] == 0.0
    assert row["volume_z"] == 0.0  # constant volume is flat
    weekday = (LOOKBACK - 1) % 7  # days after a Monday
    assert row["dow_sin"] == pytest.approx(math.sin(2 * math.pi * weekday / 7), abs=1e-15)
    assert row["dow_cos"] == pytest.approx(math.cos(2 * math.pi * weekday / 7), abs=1e-15)


def test_flat_prices_and_zero_volume_stay_defined() -> None:
    """It keeps every row of a series that stops moving and trading, with documented flat values."""
    close = np.r_[np.linspace(10.0, 12.0, 60), np.full(LOOKBACK + 10, 12.0)]
    volume = np.r_[np.full(60, 5.0), np.zeros(LOOKBACK + 10)]
    features = engineer(make_candles(close, high=close, low=close, volume=volume))
    assert len(features) == len(close) - LOOKBACK + 1
    flat = features.iloc[-10:]
    assert (flat["rsi_14"] == 0.5).all()
    assert (flat["bb_pctb"] == 0.5).all()
    assert (flat["volume_z"] == 0.0).all()
    assert (
        (flat[["ret_1", "ret_30", "vol_30", "range_hl", "atr_14", "volume_change"]] == 0)
        .all()
        .all()
    )
    assert flat[["macd", "macd_signal", "close_sma_50"]].abs().lt(1e-12).all().all()


def test_real_btc_daily(data_dir: Path) -> None:
    """It engineers BTCUSDT_1d plausibly, and one day at a time gives the same bytes as at once."""
    candles = real_candles(data_dir, "BTCUSDT_1d")
    features = engineer(candles)
    assert len(features) == len(candles) - LOOKBACK + 1
    assert features["open_time"].iloc[0] == candles["open_time"].iloc[LOOKBACK - 1]
    pa.Table.from_pandas(features, schema=FEATURES.schema, preserve_index=False)
    assert np.isfinite(features[list(FEATURE_COLUMNS)].to_numpy()).all()
    assert features["rsi_14"].between(0.05, 0.95).all()
    assert features["vol_30"].between(0.005, 0.2).all()
    assert features["ret_1"].abs().max() < 0.7  # the worst day (2020-03-12) is -0.50
    for start in (0, 1, 500, len(candles) - LOOKBACK - 7):
        tail = engineer(candles.iloc[start:])
        assert_same_bytes(features.iloc[-len(tail) :].reset_index(drop=True), tail)
    daily = [
        engineer(candles.iloc[end - LOOKBACK : end])
        for end in range(len(candles) - 9, len(candles) + 1)
    ]
    assert_same_bytes(
        features.iloc[-10:].reset_index(drop=True), pd.concat(daily, ignore_index=True)
    )


def test_every_shared_file_engineers_cleanly(data_dir: Path) -> None:
    """It engineers every shared 1d and 4h file (tiny SHIB prices, delisted MATIC) finitely."""
    files = sorted(p.stem for interval in ("1d", "4h") for p in data_dir.glob(f"*_{interval}.csv"))
    assert len(files) >= 30
    candles = pd.concat([real_candles(data_dir, name) for name in files], ignore_index=True)
    features = engineer(candles)
    sizes = candles.groupby(["symbol", "interval"]).size()
    assert len(features) == int((sizes - LOOKBACK + 1).clip(lower=0).sum())
    assert np.isfinite(features[list(FEATURE_COLUMNS)].to_numpy()).all()
    assert features["rsi_14"].between(0.0, 1.0).all()


def test_smoothing_close_to_the_recursive_indicators(data_dir: Path) -> None:
    """It stays within truncation error of the textbook recursive MACD, RSI and ATR on real data."""
    candles = real_candles(data_dir, "ETHUSDT_1d")
    features = engineer(candles).set_index("open_time")
    close = candles.set_index("open_time")["close"]
    high, low = candles.set_index("open_time")["high"], candles.set_index("open_time")["low"]

    def ema(x: pd.Series, span: float) -> pd.Series:
        return x.ewm(span=span, adjust=False).mean()

    line = (ema(close, 12) - ema(close, 26)) / close
    change = close.diff()
    wilder = {"alpha": 1 / 14, "adjust": False}
    gains, losses = (
        change.clip(lower=0).ewm(**wilder).mean(),
        (-change).clip(lower=0).ewm(**wilder).mean(),
    )
    previous = close.shift()
    true_range = np.maximum(high, previous) - np.minimum(low, previous)
    reference = pd.DataFrame(
        {
            "macd": line,
            "macd_signal": ema(line, 9),
            "rsi_14": gains / (gains + losses),
            "atr_14": true_range.ewm(**wilder).mean() / close,
        }
    ).loc[features.index[300:]]  # past the recursion's own warm-up
    ours = features.loc[reference.index, reference.columns]
    error = (ours - reference).abs().max()
    # measured: macd 4.9e-4, macd_signal 4.2e-4, rsi_14 3.4e-4, atr_14 6e-5 (truncation ~3e-4)
    assert error["macd"] < 1e-3 and error["macd_signal"] < 1e-3, error
    assert error["rsi_14"] < 1e-3, error
    assert error["atr_14"] < 2e-4, error


def test_windows_count_rows_across_gaps(data_dir: Path) -> None:
    """It treats a real 4h outage as adjacent rows: ret_1 after a gap spans the gap."""
    candles = real_candles(data_dir, "BTCUSDT_4h")
    features = engineer(candles)
    assert len(features) == len(candles) - LOOKBACK + 1
    gap = candles["open_time"].diff() > pd.Timedelta(hours=4)
    after_gap = candles.index[gap & (candles.index >= LOOKBACK - 1)][0]
    row = features.set_index("open_time").loc[candles["open_time"].iloc[after_gap]]
    expected = math.log(candles["close"].iloc[after_gap] / candles["close"].iloc[after_gap - 1])
    assert row["ret_1"] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.drop(columns="volume"), "columns"),
        (lambda c: pd.concat([c, c.iloc[[5]]]), "duplicate candle"),
        (lambda c: c.assign(open_time=c["open_time"].dt.tz_localize(None)), "timezone-aware"),
        (lambda c: c.assign(close=c["close"].where(c.index != 3, 0.0)), "close must be"),
        (lambda c: c.assign(low=c["low"].where(c.index != 3, np.nan)), "low must be"),
        (lambda c: c.assign(volume=c["volume"].where(c.index != 3, -1.0)), "volume must be"),
        (lambda c: c.assign(symbol=c["symbol"].where(c.index != 3, None)), "symbol and interval"),
    ],
)
def test_bad_candles_are_rejected(
    change: Callable[[pd.DataFrame], pd.DataFrame], message: str
) -> None:
    """It refuses candles its formulas cannot handle, naming the rule."""
    with pytest.raises(ValidationError, match=message):
        engineer(change(random_candles(1, LOOKBACK + 3)))


def test_every_feature_is_documented() -> None:
    """It documents each feature in one line, in the module and in the README."""
    assert tuple(DEFINITIONS) == FEATURE_COLUMNS
    assert all("\n" not in line and line for line in DEFINITIONS.values())
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Features", 1)[1].split("\n## ", 1)[0]
    assert all(f"`{name}`" in section for name in FEATURE_COLUMNS)
    assert f"`LOOKBACK` = {LOOKBACK}" in section
