"""The Forecaster against a real store and registry holding a tiny trained MLP and persistence."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pytest
from app_world import MLP, NOW, PERSISTENCE, AppWorld

from candlecast.errors import FeatureGroupNotFound, ModelNotFound, SettingsError, ValidationError
from candlecast.settings import Settings
from feature_pipeline.groups import CANDLES, FEATURES
from feature_store import open_registry, open_store
from inference_app.forecaster import Forecaster, check_days
from inference_app.freshness import freshness_of
from inference_app.serving import CANDLE_FIELDS


@pytest.mark.parametrize("model", ["best", MLP, f"{PERSISTENCE}:1"])
def test_dates_follow_the_last_closed_candle(forecaster: Forecaster, model: str) -> None:
    """It dates horizon h at the last closed candle's open time + h days, for every day asked."""
    last = forecaster.store.latest(FEATURES, symbol="BTCUSDT", interval="1d", n=1)
    last_open = last["open_time"].iloc[-1].to_pydatetime()
    result = forecaster.forecast("BTCUSDT", 10, model)
    assert [p.date for p in result.points] == [last_open + timedelta(days=h) for h in range(1, 11)]
    assert [p.horizon for p in result.points] == list(range(1, 11))
    assert result.data_through == f"{last_open:%Y-%m-%d}"
    assert last_open + timedelta(days=1) <= NOW < last_open + timedelta(days=2)  # newest closed


@pytest.mark.parametrize("model", [MLP, PERSISTENCE])
def test_intervals_are_ordered_and_change_matches(forecaster: Forecaster, model: str) -> None:
    """It gives low <= median <= high at every horizon and change = median / last close - 1."""
    result = forecaster.forecast("btcusdt", 30, model)
    assert len(result.points) == 30
    for point in result.points:
        assert 0 < point.low <= point.median <= point.high
        assert point.change == pytest.approx(point.median / result.last_close - 1, rel=1e-9)
    widths = [p.high - p.low for p in result.points]
    assert widths[-1] > widths[0]  # uncertainty grows with the horizon


def test_last_close_is_the_stored_close(forecaster: Forecaster) -> None:
    """It forecasts from the close of the last closed candle in the candles group."""
    candles = forecaster.store.latest(CANDLES, symbol="BTCUSDT", interval="1d", n=1)
    result = forecaster.forecast("BTCUSDT", 1)
    assert result.last_close == float(candles["close"].iloc[-1])


def test_persistence_median_is_the_last_close(forecaster: Forecaster) -> None:
    """It turns persistence's zero log return into exactly the last close."""
    result = forecaster.forecast("BTCUSDT", 5, PERSISTENCE)
    assert all(p.median == pytest.approx(result.last_close) for p in result.points)
    assert result.kind == "persistence"


def test_inputs_equal_the_training_inputs_today(world: AppWorld, forecaster: Forecaster) -> None:
    """It builds today's model input exactly as training builds the window at the same origin."""
    from training_pipeline.feature_view import load_feature_view
    from training_pipeline.training_set import prepare
    from training_pipeline.windows import window_view

    served = forecaster.inputs("BTCUSDT", MLP)
    view = load_feature_view(open_store(world.settings), "BTCUSDT", "1d")
    training = prepare(view, world.config)
    window = forecaster.model("BTCUSDT", MLP).bundle.window
    expected = window_view(training.scaled, np.array([len(view.frame) - 1]), window)
    assert served.dtype == expected.dtype
    np.testing.assert_array_equal(served, expected)


def test_inputs_equal_the_training_arrays_of_a_test_day(
    world: AppWorld, tmp_path, forecaster: Forecaster
) -> None:
    """It reproduces training's own array for a past day when the store ends on that day."""
    from training_pipeline.feature_view import load_feature_view
    from training_pipeline.training_set import prepare

    view = load_feature_view(open_store(world.settings), "BTCUSDT", "1d")
    training = prepare(view, world.config)
    origin = int(training.splits.test[-1])
    window = forecaster.model("BTCUSDT", MLP).bundle.window
    expected, _ = training.arrays(np.array([origin]), window)

    earlier = Settings(
        home=world.home, store_uri=str(tmp_path / "store"), now=NOW, symbols=("BTCUSDT",)
    )
    store = open_store(earlier)
    store.upsert(FEATURES, view.frame.iloc[: origin + 1])
    served = Forecaster(earlier, store=store).inputs("BTCUSDT", MLP)
    np.testing.assert_array_equal(served, expected)


def test_forecast_matches_the_bundle(forecaster: Forecaster) -> None:
    """It returns the bundle's own quantiles, turned into prices from the last close."""
    loaded = forecaster.model("BTCUSDT", MLP)
    features = forecaster.store.latest(FEATURES, symbol="BTCUSDT", interval="1d", n=200)
    predicted = loaded.bundle.predict(features)
    result = forecaster.forecast("BTCUSDT", 30, MLP)
    for point, row in zip(result.points, predicted.itertuples(), strict=True):
        assert point.median == pytest.approx(result.last_close * math.exp(row.median), rel=1e-9)
        assert point.low == pytest.approx(result.last_close * math.exp(row.low), rel=1e-9)


def test_best_is_the_served_version(forecaster: Forecaster, settings: Settings) -> None:
    """It serves the version the newest training run registered as served, for 'best'."""
    from feature_store import served_version

    served = served_version(open_registry(settings), "BTCUSDT", "1d")
    assert served.metadata["role"] == "served"
    result = forecaster.forecast("BTCUSDT", 3)
    assert (result.model.name, result.model.version) == (served.name, served.version)
    assert result.to_dict()["model"]["decision"] == served.metadata["decision"]


def test_json_envelope(forecaster: Forecaster) -> None:
    """It documents the forecast as symbol, model (with age), data_through and quantiles."""
    data = forecaster.forecast("BTCUSDT", 2).to_dict()
    assert data["symbol"] == "BTCUSDT" and data["interval"] == "1d"
    assert set(data["model"]) == {
        "name",
        "version",
        "kind",
        "role",
        "trained_until",
        "age_candles",
        "decision",
    }
    assert data["model"]["trained_until"] == "2026-01-05" and data["model"]["age_candles"] == 0
    assert data["as_of"] is None and data["model_warning"] is None
    assert data["stale"] is False and data["warning"] is None
    assert [row["date"] for row in data["forecast"]] == ["2026-01-06", "2026-01-07"]
    step = data["forecast"][0]
    assert set(step) == {"date", "horizon", "median", "low", "high", "change", *CANDLE_FIELDS}
    candidate = forecaster.forecast("BTCUSDT", 2, MLP).to_dict()
    assert candidate["model"]["role"] == "candidate" and candidate["model"]["age_candles"] > 30
    assert "refit it with `candlecast retrain --symbols BTCUSDT" in candidate["model_warning"]


@pytest.mark.parametrize("model", ["best", MLP])
def test_as_of_forecast_is_the_one_made_that_day(
    world: AppWorld, tmp_path, forecaster: Forecaster, model: str
) -> None:
    """It gives, as of a past candle, exactly what a store ending that day forecast then."""
    from datetime import UTC, datetime

    day = datetime(2025, 12, 20, tzinfo=UTC)
    then = Settings(
        home=world.home,
        store_uri=str(tmp_path / "store"),
        now=day + timedelta(hours=36),
        symbols=("BTCUSDT",),
    )
    store = open_store(then)
    full = open_store(world.settings)
    store.upsert(FEATURES, full.read(FEATURES, symbol="BTCUSDT", interval="1d", end=day))
    that_day = Forecaster(then, store=store, registry=open_registry(world.settings))
    made = that_day.forecast("BTCUSDT", 30, model)
    again = forecaster.forecast("BTCUSDT", 30, model, as_of=day)
    assert made.points == again.points and made.data_through == again.data_through == "2025-12-20"
    assert again.to_dict()["as_of"] == "2025-12-20" and not again.freshness.stale
    assert made.age == again.age


def test_as_of_outside_the_stored_features_is_refused(forecaster: Forecaster) -> None:
    """It refuses an as-of date after the last closed candle or before the features start."""
    from datetime import UTC, datetime

    with pytest.raises(ValidationError, match="after the last closed 1d candle of BTCUSDT"):
        forecaster.forecast("BTCUSDT", 7, as_of=datetime(2026, 1, 6, tzinfo=UTC))
    with pytest.raises(ValidationError, match="before the BTCUSDT 1d features start"):
        forecaster.forecast("BTCUSDT", 7, as_of=datetime(2015, 1, 1, tzinfo=UTC))
    with pytest.raises(FeatureGroupNotFound, match="up to 2018-01-10 but model"):
        forecaster.forecast("BTCUSDT", 7, as_of=datetime(2018, 1, 10, tzinfo=UTC))


@pytest.mark.parametrize("days", [0, 31, -3, 2.5, None, True])
def test_days_outside_1_to_30_are_refused(forecaster: Forecaster, days: object) -> None:
    """It refuses days ahead outside 1..30 with a message that names the range."""
    with pytest.raises(ValidationError, match="1 (and|to) 30"):
        forecaster.forecast("BTCUSDT", days, None)  # type: ignore[arg-type]
    assert check_days(30.0) == 30


def test_unknown_symbol_names_what_the_store_holds(forecaster: Forecaster) -> None:
    """It says which symbols the store holds and how to backfill the missing one."""
    with pytest.raises(FeatureGroupNotFound, match="BTCUSDT, ETHUSDT.*backfill --symbols DOGEUSDT"):
        forecaster.forecast("DOGEUSDT", 7)
    with pytest.raises(SettingsError, match="not a valid Binance pair"):
        forecaster.forecast("BTC-USD", 7)


def test_no_model_for_a_stored_symbol(forecaster: Forecaster) -> None:
    """It forecasts no change with the empirical band, labelled, when a symbol has no model."""
    result = forecaster.forecast("ETHUSDT", 7)
    assert result.loaded.role == "untrained" and result.kind == "persistence"
    assert all(p.median == result.last_close for p in result.points)
    assert all(p.low < p.median < p.high for p in result.points)
    assert "train one with `candlecast train --symbols ETHUSDT" in result.model_warning()
    with pytest.raises(ModelNotFound, match="no model named"):
        forecaster.forecast("ETHUSDT", 7, "ethusdt-1d-garch")


def test_a_model_of_another_symbol_is_refused(forecaster: Forecaster) -> None:
    """It refuses to serve ETHUSDT with a model trained on BTCUSDT."""
    with pytest.raises(SettingsError, match="trained on BTCUSDT 1d, not ETHUSDT"):
        forecaster.forecast("ETHUSDT", 7, f"{MLP}:1")


@pytest.mark.parametrize("model", ["nope", f"{MLP}:99", "a:b:c:x"])
def test_unknown_models_are_refused(forecaster: Forecaster, model: str) -> None:
    """It says a named model or version does not exist, or that the name is malformed."""
    with pytest.raises((ModelNotFound, SettingsError)):
        forecaster.forecast("BTCUSDT", 7, model)


def test_empty_store(tmp_path) -> None:
    """It explains that the store is empty and how to fill it."""
    empty = Forecaster(Settings(home=tmp_path, now=NOW))
    with pytest.raises(FeatureGroupNotFound, match="holds no 1d features yet.*candlecast backfill"):
        empty.forecast("BTCUSDT", 7)
    assert empty.symbols() == []


def test_freshness_turns_stale_after_a_missed_candle(forecaster: Forecaster) -> None:
    """It calls the data fresh half a day after the close and stale once a day is missing."""
    fresh = forecaster.freshness("BTCUSDT")
    assert not fresh.stale and fresh.age == timedelta(hours=12)
    later = freshness_of(
        fresh.last_open_time, symbol="BTCUSDT", interval="1d", now=NOW + timedelta(days=2)
    )
    assert later.stale
    assert "candlecast daily --symbols BTCUSDT" in (later.warning() or "")


def test_importing_the_app_loads_nothing_heavy() -> None:
    """It imports the app, UI and CLI modules without Gradio, TensorFlow, Plotly or a store."""
    import subprocess
    import sys

    heavy = ("gradio", "tensorflow", "keras", "plotly", "deltalake", "duckdb", "hopsworks")
    code = (
        "import sys, inference_app.app, inference_app.ui, inference_app.views\n"
        "import candlecast_cli.serve\n"
        f"print([m for m in {heavy!r} if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
