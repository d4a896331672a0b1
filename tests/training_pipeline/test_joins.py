"""Tests for point-in-time joins: as of each row's close, never a later candle, same at serving."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from synthetic_series import read_candles

from candlecast.errors import CandlecastError, FeatureGroupNotFound, ValidationError
from candlecast.settings import Settings
from feature_pipeline.groups import FEATURE_COLUMNS, FEATURES
from training_pipeline.bundle import ModelBundle
from training_pipeline.feature_view import feature_view_from_frame, load_feature_view
from training_pipeline.joins import (
    Join,
    apply_joins,
    asof_join,
    join_for_model,
    join_from_store,
    joins_of,
)

HOUR, DAY = pd.Timedelta(hours=1), pd.Timedelta(days=1)
MS = pd.Timedelta(1, "ms")
START = pd.Timestamp("2024-03-01", tz="UTC")
DAILY = Join("BTCUSDT", "1d", ("ret_1", "vol_7"))


def rows_at(open_times: pd.DatetimeIndex, symbol: str, interval: str, seed: int) -> pd.DataFrame:
    """FEATURES-shaped rows at the given open times, every value random."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"symbol": symbol, "interval": interval, "open_time": open_times})
    frame["close"] = rng.uniform(10, 100, len(frame))
    for column in FEATURE_COLUMNS:
        frame[column] = rng.normal(size=len(frame))
    return frame


def brute_force(rows: pd.DataFrame, partner: pd.DataFrame, step: pd.Timedelta) -> list[int]:
    """Per row, the partner row (position) that closed last at or before its close, or -1."""
    partner_close = (partner["open_time"] + DAY - MS).tolist()
    found = []
    for close in (rows["open_time"] + step - MS).tolist():
        closed = [i for i, t in enumerate(partner_close) if t <= close]
        found.append(max(closed, key=partner_close.__getitem__) if closed else -1)
    return found


@settings(max_examples=80, deadline=None)
@given(
    days=st.integers(2, 25),
    keep_4h=st.floats(0.2, 1.0),
    keep_1d=st.floats(0.2, 1.0),
    late_start=st.integers(0, 5),
    explicit_close=st.booleans(),
    seed=st.integers(0, 10_000),
)
def test_joined_values_are_the_last_closed_partner_row(
    days: int,
    keep_4h: float,
    keep_1d: float,
    late_start: int,
    explicit_close: bool,
    seed: int,
) -> None:
    """It joins onto each 4h row the daily row that closed last by the row's close, never later.

    Both series have random gaps; the daily series may start later (those 4h rows are dropped)
    and always ends with today's still-open candle, which no row may get.
    """
    rng = np.random.default_rng(seed)
    grid_4h = pd.date_range(START, periods=days * 6, freq="4h")
    first_day = START + min(late_start, days) * DAY
    grid_1d = pd.date_range(first_day, START + days * DAY, freq="D")  # ends with an open day
    four = rows_at(grid_4h[rng.random(len(grid_4h)) < keep_4h], "ETHUSDT", "4h", seed)
    kept = rng.random(len(grid_1d)) < keep_1d
    kept[-1] = True  # the open daily candle: it closes after every 4h row
    daily = rows_at(grid_1d[kept], "BTCUSDT", "1d", seed + 1)
    if explicit_close:
        daily["close_time"] = daily["open_time"] + DAY - MS
    shuffled = four.sample(frac=1.0, random_state=seed)

    joined = apply_joins(shuffled, {DAILY: daily}, [DAILY], interval="4h")

    found = np.array(brute_force(four, daily, 4 * HOUR))
    has_partner = found >= 0
    expected = daily.iloc[found[has_partner]]
    assert joined["open_time"].tolist() == four.loc[has_partner, "open_time"].tolist()
    row_close = joined["open_time"] + 4 * HOUR - MS
    partner_close = joined["btcusdt_1d__close_time"]
    assert (partner_close <= row_close).all()  # no look-ahead
    assert (partner_close < daily["open_time"].max() + DAY - MS).all()  # the open day: never
    for column in DAILY.columns:
        want = expected[column].to_numpy()
        np.testing.assert_array_equal(joined[f"btcusdt_1d__{column}"].to_numpy(), want)
    partners_closed = (expected["open_time"] + DAY - MS).tolist()
    assert joined["btcusdt_1d__close_time"].tolist() == partners_closed


@settings(max_examples=40, deadline=None)
@given(end=st.integers(1, 120), length=st.integers(1, 60), seed=st.integers(0, 10_000))
def test_a_frame_ending_at_any_row_gets_the_same_joined_rows(
    end: int, length: int, seed: int
) -> None:
    """It joins the same values onto the last rows alone as onto the whole history (serving)."""
    rng = np.random.default_rng(seed)
    grid = pd.date_range(START, periods=150, freq="4h")
    four = rows_at(grid[rng.random(len(grid)) < 0.8], "ETHUSDT", "4h", seed)
    days = pd.date_range(START, periods=30, freq="D")
    daily = rows_at(days[rng.random(len(days)) < 0.7], "BTCUSDT", "1d", seed + 1)
    whole = apply_joins(four, {DAILY: daily}, [DAILY], interval="4h")
    part = four.iloc[max(0, min(end, len(four)) - length) : end]
    served = apply_joins(part, {DAILY: daily}, [DAILY], interval="4h")
    pd.testing.assert_frame_equal(
        served, whole.loc[whole["open_time"].isin(part["open_time"])].reset_index(drop=True)
    )


def test_an_open_daily_candle_never_reaches_the_same_days_4h_rows() -> None:
    """It gives the 4h row closing at 08:00 yesterday's daily row, the one closing at midnight
    today's (both candles close at 23:59:59.999)."""
    four = rows_at(pd.date_range("2024-03-02", periods=6, freq="4h", tz="UTC"), "ETHUSDT", "4h", 1)
    daily = rows_at(pd.date_range("2024-03-01", periods=2, freq="D", tz="UTC"), "BTCUSDT", "1d", 2)
    joined = apply_joins(four, {DAILY: daily}, [DAILY], interval="4h")
    got = dict(zip(joined["open_time"].dt.hour, joined["btcusdt_1d__close_time"], strict=True))
    assert got[4] == pd.Timestamp("2024-03-01 23:59:59.999", tz="UTC")
    assert got[20] == pd.Timestamp("2024-03-02 23:59:59.999", tz="UTC")
    assert joined.loc[5, "btcusdt_1d__ret_1"] == daily.loc[1, "ret_1"]
    assert (joined.loc[:4, "btcusdt_1d__ret_1"] == daily.loc[0, "ret_1"]).all()


def test_rows_before_the_first_partner_are_dropped_not_filled() -> None:
    """It drops the rows whose partner has not closed a candle yet instead of back-filling."""
    four = rows_at(pd.date_range("2024-03-01", periods=12, freq="4h", tz="UTC"), "ETHUSDT", "4h", 1)
    daily = rows_at(pd.date_range("2024-03-01", periods=2, freq="D", tz="UTC"), "BTCUSDT", "1d", 2)
    joined = apply_joins(four, {DAILY: daily}, [DAILY], interval="4h")
    assert joined["open_time"].min() == pd.Timestamp("2024-03-01 20:00", tz="UTC")
    assert not joined.isna().any().any()


def test_a_keyed_join_matches_each_key_on_its_own() -> None:
    """It joins each symbol's rows with that symbol's partner rows only (`by`)."""
    times = pd.date_range("2024-03-01", periods=40, freq="4h", tz="UTC")
    days = pd.date_range("2024-03-01", periods=8, freq="D", tz="UTC")
    symbols = ("AUSDT", "BUSDT", "CUSDT")
    rows = pd.concat([rows_at(times, s, "4h", i) for i, s in enumerate(symbols)])
    partner = pd.concat([rows_at(days[i:], s, "1d", 9 + i) for i, s in enumerate(symbols)])
    keyed = asof_join(
        rows.sample(frac=1.0, random_state=3),
        partner.sample(frac=1.0, random_state=4),
        interval="4h",
        partner_interval="1d",
        columns=["ret_1"],
        prefix="d__",
        by="symbol",
    )
    alone = pd.concat(
        asof_join(
            rows[rows.symbol == s],
            partner[partner.symbol == s],
            interval="4h",
            partner_interval="1d",
            columns=["ret_1"],
            prefix="d__",
        )
        for s in symbols
    ).reset_index(drop=True)
    pd.testing.assert_frame_equal(keyed, alone)


def test_join_specs_read_and_record_themselves() -> None:
    """It parses SYMBOL:INTERVAL[:columns], names its columns with a prefix, and round-trips."""
    join = Join.parse("btcusdt:1d:ret_1,vol_7")
    assert join == DAILY
    assert join.output_columns == ("btcusdt_1d__ret_1", "btcusdt_1d__vol_7")
    assert Join.parse("ETHUSDT:4h").columns == FEATURE_COLUMNS
    assert joins_of({"joins": [join.to_dict()]}) == (join,)
    assert joins_of({}) == () and joins_of(None) == ()
    for text in ("BTCUSDT", "BTCUSDT:2d", "BTCUSDT:1d:nope", ":1d"):
        with pytest.raises(CandlecastError):
            Join.parse(text)


# -- real data, through the store ---------------------------------------------------------------


def candles(data_dir: Path, symbol: str, interval: str) -> pd.DataFrame:
    frame = read_candles(data_dir / f"{symbol}_{interval}.csv", symbol, interval)
    step = pd.Timedelta(interval.replace("d", "D"))
    frame["close_time"] = frame["open_time"] + step - MS
    return frame.iloc[:-1]  # the last row of every file is a still-open candle


@pytest.fixture(scope="module")
def real_features(data_dir: Path) -> pd.DataFrame:
    """Real BTCUSDT 1d + 4h and ETHUSDT 1d features from the shared candles."""
    from feature_pipeline.features import engineer

    series = [("BTCUSDT", "1d"), ("BTCUSDT", "4h"), ("ETHUSDT", "1d")]
    return engineer(pd.concat([candles(data_dir, s, i) for s, i in series], ignore_index=True))


@pytest.fixture
def real_store(feature_store, real_features: pd.DataFrame):
    feature_store.upsert(FEATURES, real_features)
    return feature_store


def test_real_4h_rows_get_the_btc_day_that_closed_by_then(real_store) -> None:
    """It joins BTCUSDT 1d onto BTCUSDT 4h: the 20:00 candle shares the day's close, the others
    get the previous day, and every value equals pandas' backward merge_asof."""
    view = load_feature_view(real_store, "BTCUSDT", "4h", joins=[Join("BTCUSDT", "1d")])
    frame = view.frame
    assert view.feature_columns == FEATURE_COLUMNS + Join("BTCUSDT", "1d").output_columns
    assert view.data_version()["joins"] == [Join("BTCUSDT", "1d").to_dict()]
    last_4h = frame["open_time"].dt.hour == 20
    day = frame["open_time"].dt.normalize()
    partner_day = frame["btcusdt_1d__close_time"].dt.normalize()
    assert (partner_day[last_4h] == day[last_4h]).all()
    assert (partner_day[~last_4h] < day[~last_4h]).all()
    # The 4h candle that closes with the day closes at the day's price (outage days aside).
    closes = Join("BTCUSDT", "1d", ("close",))
    with pytest.raises(ValidationError, match="a series is joined once"):
        join_from_store(real_store, frame, [closes], interval="4h")
    prices = join_from_store(real_store, frame[["open_time", "close"]], [closes], interval="4h")
    assert (prices["close"] == prices["btcusdt_1d__close"])[last_4h].mean() > 0.97

    daily = real_store.read(FEATURES, symbol="BTCUSDT", interval="1d")
    left = frame[["open_time"]].assign(t=frame["open_time"] + 4 * HOUR - MS)
    right = daily[["open_time", "ret_1"]].assign(t=daily["open_time"] + DAY - MS)
    merged = pd.merge_asof(
        left,
        right.drop(columns="open_time"),
        on="t",
        direction="backward",
        allow_exact_matches=True,
    )
    np.testing.assert_array_equal(frame["btcusdt_1d__ret_1"], merged["ret_1"])


def test_real_cross_symbol_join_serves_what_training_saw(real_store) -> None:
    """It joins BTCUSDT 1d onto ETHUSDT 1d; a bundle recording the join gets, from the last rows
    read at serving, the same model input as training built from the whole history."""
    join = Join("BTCUSDT", "1d", ("ret_1", "rsi_14", "vol_30"))
    view = load_feature_view(real_store, "ETHUSDT", "1d", joins=[join])
    plain = load_feature_view(real_store, "ETHUSDT", "1d")
    assert plain.feature_columns == FEATURE_COLUMNS and "joins" not in plain.data_version()
    assert view.frame["btcusdt_1d__close_time"].eq(view.frame["open_time"] + DAY - MS).all()
    bundle = ModelBundle(
        kind="mlp",
        symbol="ETHUSDT",
        interval="1d",
        feature_columns=view.feature_columns,
        window=30,
        horizon=7,
        data=view.data_version(),
    )
    for end in (len(view.frame), 2000):
        origin = view.frame["open_time"].iloc[end - 1]
        tail = real_store.read(FEATURES, symbol="ETHUSDT", interval="1d", end=origin).tail(30)
        served = join_for_model(real_store, tail, bundle)
        np.testing.assert_array_equal(
            bundle.inputs(served), bundle.inputs(view.frame, np.array([end - 1]))
        )


def test_serving_refuses_a_partner_that_lags_behind(real_store) -> None:
    """It raises, naming the fix, when the partner's newest closed candle is not in the store."""
    join = Join("BTCUSDT", "1d", ("ret_1",))
    bundle = ModelBundle(
        kind="mlp",
        symbol="ETHUSDT",
        interval="1d",
        feature_columns=FEATURE_COLUMNS + join.output_columns,
        window=5,
        horizon=7,
        data={"joins": [join.to_dict()]},
    )
    eth = real_store.latest(FEATURES, symbol="ETHUSDT", interval="1d", n=5)
    assert len(join_for_model(real_store, eth, bundle)) == 5
    btc = real_store.read(FEATURES, symbol="BTCUSDT", interval="1d")
    real_store.upsert(FEATURES, eth.assign(open_time=eth["open_time"] + 2 * DAY))
    later = real_store.latest(FEATURES, symbol="ETHUSDT", interval="1d", n=5)
    assert later["open_time"].max() > btc["open_time"].max()  # ETH now runs ahead of BTC
    with pytest.raises(FeatureGroupNotFound, match="candlecast daily --symbols BTCUSDT"):
        join_for_model(real_store, later, bundle)


def test_a_join_onto_a_missing_series_names_the_backfill(real_store) -> None:
    """It raises with the backfill command when the joined series is not in the store."""
    eth = real_store.latest(FEATURES, symbol="ETHUSDT", interval="1d", n=5)
    with pytest.raises(FeatureGroupNotFound, match="candlecast backfill --symbols SOLUSDT"):
        join_from_store(real_store, eth, [Join("SOLUSDT", "1d")], interval="1d")


def test_a_frame_without_the_joined_columns_is_refused(real_features: pd.DataFrame) -> None:
    """It refuses a frame that lacks the joined columns unless partner rows are passed."""
    eth = real_features[
        (real_features.symbol == "ETHUSDT") & (real_features.interval == "1d")
    ].reset_index(drop=True)
    btc = real_features[(real_features.symbol == "BTCUSDT") & (real_features.interval == "1d")]
    with pytest.raises(ValidationError, match="btcusdt_1d__ret_1"):
        feature_view_from_frame(eth, symbol="ETHUSDT", interval="1d", joins=[DAILY])
    view = feature_view_from_frame(
        eth, symbol="ETHUSDT", interval="1d", joins=[DAILY], partners={DAILY: btc}
    )
    assert view.feature_columns[-2:] == DAILY.output_columns
    assert isinstance(view.frame["open_time"].iloc[0], datetime)


@pytest.mark.slow
def test_a_model_trained_with_a_join_is_served_with_it(
    tmp_path: Path, real_store, registry, tiny_config
) -> None:
    """It records the join in the registered bundle, and the Forecaster re-applies it: today's
    served input equals the one training builds from the whole history."""
    from inference_app.forecaster import Forecaster
    from training_pipeline.run import run

    join = Join("BTCUSDT", "1d", ("ret_1", "vol_7"))
    settings = Settings(home=tmp_path, symbols=("ETHUSDT",), interval="1d")
    (series,) = run(
        settings, real_store, registry, config=tiny_config, progress=False, joins=[join]
    ).series
    mlp = next(v for v in series.candidates if v.metadata["kind"] == "mlp")
    assert mlp.metadata["joins"] == [join.to_dict()]
    assert joins_of(series.served.metadata) == (join,)  # what a retrain runs again with
    bundle = ModelBundle.load(mlp.path)
    assert bundle.feature_columns == FEATURE_COLUMNS + join.output_columns

    served = Forecaster(settings, store=real_store, registry=registry).inputs(
        "ETHUSDT", f"{mlp.name}:{mlp.version}"
    )
    view = load_feature_view(real_store, "ETHUSDT", "1d", joins=[join])
    np.testing.assert_array_equal(served, bundle.inputs(view.frame))
