"""The app in Debian's chromium driven by Playwright: load, set the days, click, read the chart."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
TIMEOUT_MS = 60_000
SCREENSHOTS = Path(os.environ.get("CANDLECAST_TEST_SCREENSHOTS", "/tmp"))
TRACES = """() => document.querySelector('#forecast-chart .js-plotly-plot')
    .data.map(t => ({name: t.name, points: t.x.length}))"""

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing; install Debian's chromium (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


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
    """It draws the last 50 candles, the last close and a 7-day median and band on load."""
    shown = traces(page)
    assert shown["close"] == 50
    assert shown["last close"] == 1
    assert shown["forecast median"] == 8  # the last close, then 7 days
    assert shown["80% interval"] == 8
    assert "last close" in page.inner_text("#kpi-row")
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
    assert shown["close"] == 50 and shown["80% interval"] == 13
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
    """It shows the walk-forward chart with persistence and the latest rows with freshness."""
    page.get_by_role("tab", name="Track record").click()
    page.wait_for_selector("#track-chart .js-plotly-plot")
    names = page.evaluate(
        "() => document.querySelector('#track-chart .js-plotly-plot').data.map(t => t.name)"
    )
    assert {"actual", "model", "persistence"} <= set(names)
    page.get_by_role("tab", name="Data").click()
    assert "data through 2026-01-05" in page.inner_text("#freshness")
