"""What the app's tabs show, built without a browser: the page, KPIs, model card and messages."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pandas as pd
import pytest
from app_world import MLP, NOW, PERSISTENCE

from candlecast.settings import Settings
from feature_pipeline.groups import CANDLES
from inference_app.forecaster import Forecaster
from inference_app.market import summarize
from inference_app.model_card import compare_words, model_card, track_record_sentences
from inference_app.views import build_page


def test_full_page(forecaster: Forecaster) -> None:
    """It fills every tab for a stored symbol with its served model and shows no message."""
    page = build_page(forecaster, "BTCUSDT", 7, "best")
    served = forecaster.models.best_version("BTCUSDT", "1d")
    assert page.messages == []
    assert len(page.table) == 7 and list(page.table["date"])[0] == "2026-01-06"
    assert "last close" in page.kpis
    assert f"### {served.name} · version {served.version} · served" in page.card
    assert "**Why it is served:** " in page.card and "the selection period" in page.card
    assert "candles through 2026-01-05 (0 candles before this forecast's origin)" in page.card
    assert "test period" in page.card and "interval score" in page.card
    assert {t.name for t in page.chart.data} >= {"close", "volume", "forecast median"}
    assert {t.name for t in page.backtest_chart.data} >= {"actual", "model", "persistence"}
    assert list(page.backtest_table["horizon"]) == [1, 3, 7, 14, 30]
    assert page.live_chart is None and "\n" not in page.live_text
    assert f"No forecasts of {served.name} are scored in the prediction log yet" in page.live_text
    assert len(page.candles) == 20 and page.candles["open_time"].iloc[0] == "2026-01-05 00:00"
    assert "data through 2026-01-05" in page.data_text


def test_kpis_follow_the_candles(forecaster: Forecaster, data_dir) -> None:
    """It computes last close, 24 h / 7 d change and the 30 d range from the stored candles."""
    csv = pd.read_csv(data_dir / "BTCUSDT_1d.csv").iloc[:-1]  # the last row is still open
    summary = summarize(forecaster.latest(CANDLES, "BTCUSDT", 60), "1d")
    assert summary.last_close == csv["close"].iloc[-1]
    assert summary.change_24h == pytest.approx(csv["close"].iloc[-1] / csv["close"].iloc[-2] - 1)
    assert summary.change_7d == pytest.approx(csv["close"].iloc[-1] / csv["close"].iloc[-8] - 1)
    assert summary.range_label == "30 d"
    assert summary.range_high == csv["high"].tail(30).max()
    assert summary.range_low == csv["low"].tail(30).min()
    assert summary.volume == csv["volume"].iloc[-1]


def test_empty_store_page(tmp_path) -> None:
    """It says the store is empty and how to fill it, on every tab, without failing."""
    page = build_page(Forecaster(Settings(home=tmp_path, now=NOW)), None, 7, "best")
    assert len(page.messages) == 1
    assert "holds no 1d features yet" in page.message and "candlecast backfill" in page.message
    assert page.chart is not None and page.table.empty


def test_a_candidate_is_shown_with_its_age(forecaster: Forecaster) -> None:
    """It forecasts with a registered candidate and warns how old its fitting data is."""
    page = build_page(forecaster, "BTCUSDT", 7, MLP)
    assert f"### {MLP} · version 1" in page.card and "· served" not in page.card
    assert "assuming no change" in page.card
    assert f"warning: model {MLP}:1 was fitted on candles through" in page.message
    assert "candles before this forecast's origin (limit 30)" in page.message


def test_symbol_without_a_model_gets_the_labelled_baseline(forecaster: Forecaster) -> None:
    """It shows ETHUSDT's data and forecasts no change with the empirical band, saying so."""
    page = build_page(forecaster, "ETHUSDT", 7, "best")
    assert "no model is trained for ETHUSDT 1d" in page.message
    assert "last close" in page.kpis and len(page.candles) == 20
    assert len(page.table) == 7
    assert "### No trained model for ETHUSDT 1d" in page.card


@pytest.mark.parametrize(("days", "text"), [(0, "between 1 and 30"), (31, "between 1 and 30")])
def test_bad_days_show_a_message(forecaster: Forecaster, days: int, text: str) -> None:
    """It shows the days rule rather than failing."""
    assert text in build_page(forecaster, "BTCUSDT", days, "best").message


def test_stale_data_is_a_warning_in_the_app(forecaster: Forecaster) -> None:
    """It still forecasts from stale data but warns with the fix."""
    later = Forecaster(
        replace(forecaster.settings, now=NOW + timedelta(days=3)),
        store=forecaster.store,
    )
    page = build_page(later, "BTCUSDT", 7, "best")
    assert len(page.table) == 7
    assert page.message.startswith("warning: stale data")
    assert "candlecast daily --symbols BTCUSDT" in page.message


def test_a_bug_becomes_a_message_not_a_traceback(forecaster: Forecaster, monkeypatch) -> None:
    """It turns an unexpected exception into one line pointing to the server log."""

    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(forecaster, "forecast", broken)
    page = build_page(forecaster, "BTCUSDT", 7, "best")
    assert "ZeroDivisionError" in page.message and "server log" in page.message
    assert "Traceback" not in page.message


def test_persistence_card_says_it_is_no_change(forecaster: Forecaster) -> None:
    """It describes persistence as no change and never compares its median with itself."""
    page = build_page(forecaster, "BTCUSDT", 7, PERSISTENCE)
    assert "no change: the median is the last close" in page.card
    assert "than assuming no change" not in page.card
    assert "80% interval held the actual close" in page.card


def test_a_served_baseline_says_why_plainly(forecaster: Forecaster) -> None:
    """It says that no model beat no change on the selection period, when a baseline is served."""
    card = model_card(forecaster.model("BTCUSDT"), best=True)
    assert "no model beat 'no change' on " in card and "(the selection period)" in card


@pytest.mark.parametrize(
    ("ratio", "words"),
    [(0.99, "1.0% lower than"), (1.023, "2.3% higher than"), (1.0, "the same as")],
)
def test_compare_words(ratio: float, words: str) -> None:
    """It says an MAE ratio in plain words."""
    assert compare_words(ratio) == words


def test_track_record_sentence_names_the_period() -> None:
    """It reads like 'on the 365 days of its test period ... 7-day error was 1.0% lower ...'."""
    from datetime import datetime

    period = (365, datetime(2025, 1, 1), datetime(2025, 12, 31))
    metrics = {"mae_ratio_h7": 0.99, "coverage80_h7": 0.79, "winkler_ratio_h7": 0.95}
    text = " ".join(track_record_sentences(metrics, "1d", period))
    assert "On the 365 days of its test period (2025-01-01 to 2025-12-31)" in text
    assert "7-day error was 1.0% lower than assuming no change" in text
    assert "79% of the time 7 days ahead" in text
    assert "5.0% lower than the empirical band's 7 days ahead" in text
