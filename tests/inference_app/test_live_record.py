"""The live track record and the forecast tab over the replay's log, without a browser."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from candlecast.settings import Settings
from daily_pipeline.groups import HINDCAST, LIVE, OUTCOMES
from daily_pipeline.monitor import ALL, scored
from feature_pipeline.groups import CANDLES
from feature_store import open_store
from inference_app import charts
from inference_app.forecaster import Forecaster
from inference_app.freshness import days_since
from inference_app.live_record import OutcomeLog, live_record, record_words, rolling_table
from inference_app.views import build_page


@pytest.fixture(scope="module")
def replay(replay_settings: Settings) -> Forecaster:
    return Forecaster(replay_settings)


@pytest.fixture(scope="module")
def outcomes(replay: Forecaster) -> pd.DataFrame:
    """Every scored forecast of BTCUSDT 1d in the replay's log, read straight from the store."""
    return scored(replay.store, "BTCUSDT", "1d", kind=ALL)[0]


def served_name(replay: Forecaster) -> str:
    return replay.model("BTCUSDT").version.name


def logged_traces(figure) -> dict[tuple[str, int], object]:
    """The traces of logged forecasts by (kind, horizon)."""
    return {
        (t.meta["kind"], t.meta["horizon"]): t
        for t in figure.data
        if t.meta and t.meta["kind"] != "actual"
    }


def test_the_chart_has_a_point_for_every_scored_forecast(
    replay: Forecaster, outcomes: pd.DataFrame
) -> None:
    """It draws each scored h = 1 and h = 7 forecast of the served model once, at its target."""
    page = build_page(replay, "BTCUSDT", 7, "best")
    served = served_name(replay)
    mine = outcomes.loc[(outcomes["model"] == served) & (outcomes["kind"] == LIVE)]
    traces = logged_traces(page.live_chart)
    assert set(traces) == {(LIVE, 1), (LIVE, 7)}
    for h in (1, 7):
        expected = mine.loc[mine["horizon"] == h].sort_values("target_time")
        drawn = traces[(LIVE, h)]
        assert len(drawn.x) == len(expected) > 0
        assert list(pd.to_datetime(drawn.x, utc=True)) == list(expected["target_time"])
        np.testing.assert_allclose(drawn.y, expected["median"])
        np.testing.assert_allclose(np.asarray(drawn.y) + drawn.error_y.array, expected["high"])
        np.testing.assert_allclose(np.asarray(drawn.y) - drawn.error_y.arrayminus, expected["low"])
    assert len(traces[(LIVE, 1)].x) == 35  # the replay's 36 daily runs score 35 at h = 1
    assert "live" in traces[(LIVE, 1)].name


def test_the_text_names_the_served_model_and_its_age(
    replay: Forecaster, outcomes: pd.DataFrame
) -> None:
    """It says which model is served, its version and age in days, and how many were scored."""
    page = build_page(replay, "BTCUSDT", 7, "best")
    served = replay.model("BTCUSDT")
    days = days_since(served.trained_until, replay.settings.clock())
    mine = outcomes.loc[outcomes["model"] == served.version.name]
    assert f"Live track record of {served.version.name} (served)" in page.live_text
    assert (
        f"{served.version.name} version {served.version.version}, fitted on candles through "
        f"{served.trained_until:%Y-%m-%d}: {days} days old" in page.live_text
    )
    assert f"{(mine['horizon'] == 1).sum()} live at h = 1" in page.live_text
    assert "**Monitor:**" in page.live_text
    for word in ("honest", "accurate"):
        assert word not in page.live_text.lower()


def test_the_rolling_table_follows_the_monitor(replay: Forecaster, outcomes: pd.DataFrame) -> None:
    """It lists horizons 1, 3, 7, 14, 30 over the last 30 and 90 scored live forecasts."""
    page = build_page(replay, "BTCUSDT", 7, "best")
    table = page.live_table
    assert list(table["horizon"]) == [1, 1, 3, 3, 7, 7, 14, 14, 30, 30]
    assert list(table["last N"]) == [30, 90] * 5 and set(table["kind"]) == {LIVE}
    served = served_name(replay)
    h1 = outcomes.loc[(outcomes["model"] == served) & (outcomes["horizon"] == 1)]
    assert list(table["scored"][:2]) == [min(30, len(h1)), min(90, len(h1))]
    last = h1.sort_values("target_time").tail(30)
    assert table["80% coverage"].iloc[0] == f"{last['inside'].mean():.0%}"


def test_a_model_without_logged_forecasts_gets_one_line(replay: Forecaster) -> None:
    """It says in one line that the log has nothing of a candidate, and keeps the backtest."""
    mlp = next(c for c in replay.model_choices("BTCUSDT") if c.startswith("btcusdt-1d-mlp"))
    page = build_page(replay, "BTCUSDT", 7, mlp)
    assert page.live_chart is None and page.live_table.empty
    assert "\n" not in page.live_text
    assert "No forecasts of btcusdt-1d-mlp are scored in the prediction log yet" in page.live_text
    assert "it holds those of " in page.live_text and served_name(replay) in page.live_text
    assert {"actual", "model", "persistence"} <= {t.name for t in page.backtest_chart.data}


def test_hindcasts_are_drawn_apart_from_live_ones(
    replay: Forecaster, outcomes: pd.DataFrame
) -> None:
    """It draws hindcasts in their own trace and style, and gives them their own table rows."""
    served = served_name(replay)
    early = outcomes["origin_time"] < pd.Timestamp("2025-12-15", tz="UTC")
    mixed = outcomes.assign(kind=np.where(early, HINDCAST, LIVE))
    record = live_record(mixed, symbol="BTCUSDT", interval="1d", model=served, served=served)
    traces = logged_traces(charts.live_record_figure(record))
    assert set(traces) == {(LIVE, 1), (HINDCAST, 1), (LIVE, 7), (HINDCAST, 7)}
    mine = mixed.loc[(mixed["model"] == served) & (mixed["horizon"] == 1)]
    assert len(traces[(HINDCAST, 1)].x) == (mine["kind"] == HINDCAST).sum()
    assert len(traces[(LIVE, 1)].x) == (mine["kind"] == LIVE).sum()
    live, hindcast = traces[(LIVE, 1)], traces[(HINDCAST, 1)]
    assert "hindcast" in hindcast.name and "live" in live.name
    assert live.marker.symbol != hindcast.marker.symbol
    assert live.error_y.color != hindcast.error_y.color
    assert set(rolling_table(record)["kind"]) == {LIVE, HINDCAST}
    words = record_words(record, "a model")
    assert (
        f"{(mine['kind'] == LIVE).sum()} live and {(mine['kind'] == HINDCAST).sum()} hindcast"
        in (words)
    )


def test_a_degraded_served_model_is_flagged(replay: Forecaster, outcomes: pd.DataFrame) -> None:
    """It says 'degraded' with the rule's reason when the served model's errors double."""
    served = served_name(replay)
    worse = outcomes.copy()
    mine = worse["model"] == served
    worse.loc[mine, "error"] = worse.loc[mine, "error"].abs() * 2 + 1.0
    worse.loc[mine, "inside"] = False
    record = live_record(worse, symbol="BTCUSDT", interval="1d", model=served, served=served)
    words = record_words(record, "a model")
    assert "**Monitor: degraded.**" in words
    assert "MAE ratio" in words and "coverage 0% < 65%" in words


def test_the_forecast_tab_has_volume_the_last_candle_and_ages(replay: Forecaster) -> None:
    """It draws 50 volume bars under the candles and shows the last candle's high and low, how
    long ago it closed and how many days the model has aged since its last fitting candle."""
    page = build_page(replay, "BTCUSDT", 7, "best")
    volume = next(t for t in page.chart.data if t.name == "volume")
    candles = next(t for t in page.chart.data if t.name == "close")
    assert len(volume.x) == len(candles.x) == charts.HISTORY_CANDLES == 60
    assert (volume.xaxis, volume.yaxis) == ("x2", "y2") and candles.yaxis == "y"
    assert page.chart.layout.xaxis.matches == "x2"  # one time axis for both
    last = replay.latest(CANDLES, "BTCUSDT", 1).iloc[-1]
    assert f"{last['high']:,.2f}" in page.kpis and f"{last['low']:,.2f}" in page.kpis
    assert "last candle high" in page.kpis and "last candle low" in page.kpis
    assert "2026-01-05 (closed 12 hours ago)" in page.kpis
    served = replay.model("BTCUSDT")
    days = days_since(served.trained_until, replay.settings.clock())
    assert f"{days} days (fitted through {served.trained_until:%Y-%m-%d})" in page.kpis


def test_the_log_is_read_at_most_once_per_interval(
    tmp_path: Path, replay: Forecaster, outcomes: pd.DataFrame
) -> None:
    """It answers from what it read until `read_every` has passed, then reads the store again."""
    store = open_store(Settings(home=tmp_path))
    clock = [0.0]
    log = OutcomeLog(store, "1d", read_every=timedelta(minutes=3), monotonic=lambda: clock[0])
    assert log.scored("BTCUSDT")[0].empty  # no outcomes group yet
    store.upsert(OUTCOMES, outcomes)
    clock[0] = 179.0
    assert log.scored("BTCUSDT")[0].empty
    clock[0] = 181.0
    assert len(log.scored("BTCUSDT")[0]) == len(outcomes)
