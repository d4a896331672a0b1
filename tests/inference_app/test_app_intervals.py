"""Interval-aware pages without a browser: labels, times, predicted candles and the Trend tab for
1d, 4h and 1m series; the words for candles ahead; `candlecast forecast --steps`."""

from __future__ import annotations

import json

import pytest

from candlecast.settings import Settings
from inference_app import charts, trend
from inference_app.forecaster import Forecaster, default_steps
from inference_app.model_card import ahead_words, clock_words, step_words
from inference_app.trend import trend_words
from inference_app.ui import intro
from inference_app.views import CANDLE_COLUMNS, build_page


@pytest.fixture(scope="module")
def forecaster_4h(settings_4h: Settings) -> Forecaster:
    return Forecaster(settings_4h)


@pytest.fixture(scope="module")
def forecaster_1m(settings_1m: Settings) -> Forecaster:
    return Forecaster(settings_1m)


def drawn(page) -> dict[str, int]:
    return {t.name: len(t.x) for t in page.chart.data}


@pytest.mark.parametrize(
    ("interval", "steps", "words"),
    [("1d", 7, "1-day"), ("12h", 2, "12-hour"), ("4h", 6, "4-hour"), ("1h", 24, "1-hour")]
    + [("30m", 30, "30-minute"), ("1m", 30, "1-minute")],
)
def test_default_steps_and_intro(interval: str, steps: int, words: str) -> None:
    """It defaults to a week of daily candles, a day of shorter ones, at most 30."""
    assert default_steps(interval) == steps
    assert f"the next {words} candles' closes" in intro(interval)


@pytest.mark.parametrize(
    ("h", "interval", "ahead", "step"),
    [
        (1, "1d", "1 day", "1-day"),
        (7, "1d", "7 days", "7-day"),
        (1, "1m", "1 candle (1 minute)", "1-candle (1-minute)"),
        (7, "4h", "7 candles (28 hours)", "7-candle (28-hour)"),
        (6, "4h", "6 candles (1 day)", "6-candle (1-day)"),
        (30, "1m", "30 candles (30 minutes)", "30-candle (30-minute)"),
    ],
)
def test_ahead_words(h: int, interval: str, ahead: str, step: str) -> None:
    """It says days for daily candles and candles with their clock time otherwise."""
    assert ahead_words(h, interval) == ahead
    assert step_words(h, interval) == step
    assert clock_words(2, "1h") == "2 hours"


def test_daily_page_draws_predicted_candles(forecaster: Forecaster) -> None:
    """It draws 60 real candles, then 7 hollow predicted ones from the last close; the table has
    the predicted highs and lows; the Trend tab has P(up) per horizon and the measured skill."""
    page = build_page(forecaster, "BTCUSDT", 7, "best")
    shown = drawn(page)
    assert shown["close"] == 60 and shown["volume"] == 60
    assert shown[charts.PREDICTED_NAME] == 7 and shown["forecast median"] == 8
    predicted = next(t for t in page.chart.data if t.name == charts.PREDICTED_NAME)
    points = page.forecast.points
    assert predicted.open[0] == page.forecast.last_close
    assert list(predicted.open[1:]) == [p.median for p in points[:-1]]
    assert list(predicted.close) == [p.median for p in points]
    prices = zip(predicted.high, predicted.open, predicted.close, strict=True)
    assert all(h >= max(o, c) for h, o, c in prices)
    assert list(page.table.columns[-2:]) == CANDLE_COLUMNS
    assert page.table["pred. high"].iloc[0] == round(points[0].candle["high_median"], 2)
    assert "last 60 candles and 7-day forecast" in page.chart.layout.title.text
    assert list(page.trend_table["candles ahead"]) == list(range(1, 8))
    assert page.trend_table["P(up)"].iloc[0] == f"{points[0].candle['p_up']:.1%}"
    skill = page.forecast.loaded.metrics["brier_skill_h1"]
    assert page.trend_table["Brier skill vs up-rate"].iloc[0] == f"{skill:+.3f}"
    assert page.trend_table["Brier skill vs up-rate"].iloc[1] == ""  # not measured at h = 2
    assert f"{skill:+.3f} at 1 day ahead" in page.trend_text
    assert {t.name for t in page.trend_chart.data} == {trend.P_UP_NAME}


def test_4h_page_labels(forecaster_4h: Forecaster) -> None:
    """It shows times in the table, 24 h KPIs, the candles' clock time in the card, and 6
    predicted candles after the last real 4h candle."""
    page = build_page(forecaster_4h, "BTCUSDT", default_steps("4h"), "best")
    assert list(page.table["date"])[:2] == ["2026-01-06T12:00:00Z", "2026-01-06T16:00:00Z"]
    assert "24 h high" in page.kpis and "30 d high" not in page.kpis
    assert "fitted through 2026-01-06T08:00:00Z" in page.kpis
    shown = drawn(page)
    assert shown["close"] == 60 and shown[charts.PREDICTED_NAME] == 6
    assert "6-candle (1-day) forecast" in page.chart.layout.title.text
    assert "4-hour candles of its test period" in page.card
    assert "candles through 2026-01-06T08:00:00Z" in page.card
    assert "1 candle (4 hours) ahead" in page.card
    assert "at 1 candle (4 hours) ahead" in page.trend_text


def test_1m_baseline_draws_only_the_band(forecaster_1m: Forecaster) -> None:
    """It draws the median and band alone, without predicted candles or their columns, and says
    the untrained baseline gives no P(up)."""
    page = build_page(forecaster_1m, "BTCUSDT", 30, "best")
    assert list(page.table["date"])[0] == "2025-08-11T00:01:00Z"
    assert "pred. high" not in page.table.columns
    assert "24 h high" in page.kpis and "untrained (no change)" in page.kpis
    shown = drawn(page)
    assert shown["close"] == 60 and charts.PREDICTED_NAME not in shown
    assert shown["forecast median"] == 31
    assert "30-candle (30-minute) forecast" in page.chart.layout.title.text
    assert "gives no P(up)" in page.trend_text and page.trend_table.empty


def test_trend_words_without_skill() -> None:
    """It says P(up) has no measured skill, with the figures, when no Brier skill is above 0."""
    metrics = {"brier_skill_h1": -0.004, "brier_skill_rf_h1": 0.001, "brier_skill_h7": -0.02}
    text = trend_words(metrics, "1m", "btcusdt-1m-mlp:1")
    assert (
        "P(up) has no measured skill here: its Brier skill vs the up-rate was -0.004 at 1 candle "
        "(1 minute) ahead (+0.001 vs the random forest); -0.020 at 7 candles (7 minutes) ahead; "
        "treat these as a coin flip near 50%." in text
    )
    skilled = trend_words({"brier_skill_h1": 0.012}, "1d", "m")
    assert "Its Brier skill vs the up-rate was +0.012 at 1 day ahead." in skilled
    assert "coin flip" not in skilled
    mixed = trend_words({"brier_skill_h1": -0.003, "brier_skill_h7": 0.001}, "4h", "m")
    assert "It was above 0 at 7 candles (28 hours) ahead only; at 1 candle (4 hours) ahead" in mixed
    assert "read P(up) there as a coin flip near 50%" in mixed
    assert "no measured Brier skill" in trend_words({}, "1d", "m")


def test_cli_steps_is_days(settings_4h: Settings, monkeypatch, capsys) -> None:
    """It takes --steps, --candles and --days alike, and defaults to a day of 4h candles."""
    from candlecast_cli.app import main

    monkeypatch.setenv("CANDLECAST_HOME", str(settings_4h.home))
    monkeypatch.setenv("CANDLECAST_INTERVAL", "4h")
    monkeypatch.setenv("CANDLECAST_NOW", "2026-01-06T12:00:00Z")
    answers = []
    for args in (["--steps", "3"], ["--candles", "3"], ["--days", "3"], []):
        assert main(["forecast", "--symbol", "BTCUSDT", "--json", *args]) == 0
        answers.append(json.loads(capsys.readouterr().out))
    assert answers[0] == answers[1] == answers[2]
    assert [row["horizon"] for row in answers[0]["forecast"]] == [1, 2, 3]
    assert len(answers[3]["forecast"]) == 6
    assert answers[0]["forecast"][0]["date"] == "2026-01-06T12:00:00Z"
    assert main(["forecast", "--symbol", "BTCUSDT", "--steps", "2"]) == 0
    out = capsys.readouterr().out
    assert "pred. high" in out and "P(up)" in out and "2026-01-06T16:00:00Z" in out
