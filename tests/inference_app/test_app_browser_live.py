"""The live track record in Debian's chromium: the app over the replay's prediction log."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from candlecast.settings import Settings
from daily_pipeline.groups import LIVE
from daily_pipeline.monitor import ALL, scored
from feature_store import open_store

TIMEOUT_MS = 120_000  # the first page load also loads the models
SCREENSHOTS = Path(os.environ.get("CANDLECAST_TEST_SCREENSHOTS", "/tmp"))
LOGGED = """() => document.querySelector('#live-chart .js-plotly-plot').data
    .filter(t => t.meta && t.meta.kind !== 'actual')
    .map(t => ({name: t.name, kind: t.meta.kind, horizon: t.meta.horizon, points: t.x.length,
                symbol: t.marker.symbol}))"""

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser, replay_url: str):
    page = browser.new_page(viewport={"width": 1300, "height": 1400})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(replay_url)
    page.wait_for_selector("#forecast-chart .js-plotly-plot")
    yield page
    page.close()


def test_the_track_record_tab_shows_the_live_forecasts(page, replay_settings: Settings) -> None:
    """It plots every scored live h = 1 and h = 7 forecast of the served model, names the
    served model and its age, and keeps the test-period backtest below."""
    from feature_store import open_registry
    from feature_store.base import served_version

    served = served_version(open_registry(replay_settings), "BTCUSDT", "1d").name
    outcomes, _ = scored(open_store(replay_settings), "BTCUSDT", "1d", kind=ALL)
    mine = outcomes.loc[(outcomes["model"] == served) & (outcomes["kind"] == LIVE)]
    page.get_by_role("tab", name="Track record").click()
    page.wait_for_selector("#live-chart .js-plotly-plot")
    drawn = {(t["kind"], t["horizon"]): t for t in page.evaluate(LOGGED)}
    assert set(drawn) == {(LIVE, 1), (LIVE, 7)}
    assert drawn[(LIVE, 1)]["points"] == (mine["horizon"] == 1).sum() == 35
    assert drawn[(LIVE, 7)]["points"] == (mine["horizon"] == 7).sum()
    assert "live" in drawn[(LIVE, 1)]["name"]
    text = page.inner_text("#live-text")
    assert f"Live track record of {served} (served)" in text
    assert "days old" in text and "35 live at h = 1" in text
    table = page.inner_text("#live-table")
    assert "MAE ratio vs no change" in table and "80% coverage" in table
    page.wait_for_selector("#backtest-chart .js-plotly-plot")
    page.locator("#live-chart").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "candlecast-track-record.png"), full_page=True)


def test_the_forecast_tab_shows_volume_and_ages(page) -> None:
    """It draws 60 volume bars under the candles and the model's age beside the forecast."""
    names = page.evaluate(
        "() => document.querySelector('#forecast-chart .js-plotly-plot').data"
        ".map(t => [t.name, t.x.length])"
    )
    assert ["volume", 60] in names and ["close", 60] in names
    kpis = page.inner_text("#kpi-row")
    assert "last candle high" in kpis and "model age" in kpis and "days (fitted through" in kpis
    page.screenshot(path=str(SCREENSHOTS / "candlecast-forecast-volume.png"), full_page=True)
