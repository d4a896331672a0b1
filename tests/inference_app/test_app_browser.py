"""The app in Debian's chromium driven by Playwright: load, set the days, click, read the chart."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

TIMEOUT_MS = 60_000
SCREENSHOTS = Path(os.environ.get("CANDLECAST_TEST_SCREENSHOTS", "/tmp"))
TRACES = """() => document.querySelector('#forecast-chart .js-plotly-plot')
    .data.map(t => ({name: t.name, points: t.x.length}))"""

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser, app_url: str):
    page = browser.new_page(viewport={"width": 1300, "height": 1400})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(app_url)
    page.wait_for_selector("#forecast-chart .js-plotly-plot")
    yield page
    page.close()


def traces(page) -> dict[str, int]:
    return {t["name"]: t["points"] for t in page.evaluate(TRACES)}


def forecast_with(page, control: str, value: str, until: str) -> None:
    """Type `value` into a control, press Enter, click Forecast and wait until `until` holds."""
    box = page.locator(control)
    box.fill(value)
    box.press("Enter")
    page.click("#forecast-button")
    page.wait_for_function(until)


def test_page_shows_history_and_forecast(page) -> None:
    """It draws the last 60 candles with their volume, the last close and a 7-day median and
    band on load; the KPI row has the last candle's high and low, its age and the model's."""
    shown = traces(page)
    assert shown["close"] == 60 and shown["volume"] == 60
    assert shown["last close"] == 1
    assert shown["forecast median"] == 8  # the last close, then 7 days
    assert shown["80% interval"] == 8
    kpis = page.inner_text("#kpi-row")
    for label in ("last close", "last candle high", "last candle low", "model age"):
        assert label in kpis
    assert "2026-01-05 (closed 12 hours ago)" in kpis
    assert "btcusdt-1d-" in page.inner_text("#model-card")


def test_setting_the_days_redraws_the_forecast(page) -> None:
    """It forecasts 12 days after the days are set to 12 and the button is clicked."""
    forecast_with(
        page,
        "#days input[type=number]",
        "12",
        f"() => ({TRACES})().some(t => t.name === 'forecast median' && t.points === 13)",
    )
    shown = traces(page)
    assert shown["close"] == 60 and shown["80% interval"] == 13
    table = page.inner_text("#forecast-table")
    assert "2026-01-06" in table and "2026-01-17" in table  # days 1 and 12
    assert "2026-01-18" not in table
    page.screenshot(path=str(SCREENSHOTS / "candlecast-forecast.png"), full_page=True)


def test_unknown_symbol_shows_a_message(page) -> None:
    """It shows what the store holds for an unknown symbol, without a stack trace."""
    forecast_with(
        page,
        "#symbol input",
        "DOGEUSDT",
        "() => document.querySelector('#message').innerText.includes('unknown symbol DOGEUSDT')",
    )
    text = page.inner_text("body")
    assert "BTCUSDT, ETHUSDT" in page.inner_text("#message")
    assert "Traceback" not in text


def test_track_record_and_data_tabs(page) -> None:
    """It says the prediction log is empty in one line, shows the test-period backtest with
    persistence, and the latest rows with their freshness."""
    page.get_by_role("tab", name="Track record").click()
    page.wait_for_selector("#backtest-chart .js-plotly-plot")
    names = page.evaluate(
        "() => document.querySelector('#backtest-chart .js-plotly-plot').data.map(t => t.name)"
    )
    assert {"actual", "model", "persistence"} <= set(names)
    assert "are scored in the prediction log yet" in page.inner_text("#live-text")
    assert not page.locator("#live-chart").is_visible()
    page.get_by_role("tab", name="Data").click()
    assert "data through 2026-01-05" in page.inner_text("#freshness")
