"""The app for 1d, 4h and 1m series in Debian's chromium: drawn candles and interval labels."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

TIMEOUT_MS = 60_000
SCREENSHOTS = Path(os.environ.get("CANDLECAST_TEST_SCREENSHOTS", "/tmp"))
TRACES = """() => document.querySelector('#forecast-chart .js-plotly-plot')
    .data.map(t => ({name: t.name, points: t.x.length, legend: t.showlegend !== false}))"""

pytestmark = pytest.mark.browser

# interval: (app fixture, default candles ahead, predicted candles drawn, first forecast time,
# range KPI label). 4h and "1m" serve trained models (with highs and lows); "1m untrained" the
# untrained baseline (a model without them, as bundles saved before them are).
CASES = {
    "1d": ("app_url", 7, 7, "2026-01-06", "30 d high"),
    "4h": ("app_url_4h", 6, 6, "2026-01-06T12:00:00Z", "24 h high"),
    "1m": ("app_url_1m_trained", 30, 30, "2025-08-11T00:01:00Z", "24 h high"),
    "1m untrained": ("app_url_1m", 30, 0, "2025-08-11T00:01:00Z", "24 h high"),
}
WORDS = {"1d": "1-day", "4h": "4-hour", "1m": "1-minute"}


@pytest.mark.parametrize("interval", list(CASES))
def test_candles_and_labels_follow_the_interval(browser, request, interval: str) -> None:
    """It draws the last 60 candles and, after them, one hollow predicted candle per step when
    the model forecasts highs and lows; the control, table times and KPIs name the interval."""
    fixture, steps, predicted, first, range_label = CASES[interval]
    words = WORDS[interval.split()[0]]
    page = browser.new_page(viewport={"width": 1300, "height": 1400})
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(request.getfixturevalue(fixture))
        page.wait_for_selector("#forecast-chart .js-plotly-plot")
        page.wait_for_function("() => document.querySelector('#kpi-row').innerText.length > 0")
        shown = {t["name"]: t for t in page.evaluate(TRACES)}
        assert shown["close"]["points"] == 60 and shown["volume"]["points"] == 60
        assert shown["forecast median"]["points"] == steps + 1  # the last close, then each step
        if predicted:
            assert shown["predicted candles"]["points"] == predicted
            assert shown["predicted candles"]["legend"]
        else:
            assert "predicted candles" not in shown
        assert f"Candles ahead ({words} candles)" in page.inner_text("#days")
        assert page.input_value("#days input[type=number]") == str(steps)
        assert f"the next {words} candles' closes" in page.inner_text("body")
        table = page.inner_text("#forecast-table")
        assert first in table
        assert ("pred. high" in table) == bool(predicted)
        kpis = page.inner_text("#kpi-row")
        assert range_label in kpis and "24 h change" in kpis
        page.screenshot(
            path=str(SCREENSHOTS / f"candlecast-{interval.replace(' ', '-')}.png"), full_page=True
        )
        page.get_by_role("tab", name="Trend").click()
        trend = page.inner_text("#trend-text")
        assert ("Brier skill" in trend) == bool(predicted)
    finally:
        page.close()
