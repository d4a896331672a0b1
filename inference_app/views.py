"""What each part of the app shows for a (symbol, candles ahead, model) choice; plain objects,
no Gradio."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import pandas as pd

from candlecast.errors import CandlecastError
from feature_pipeline.groups import CANDLES, FEATURES
from inference_app import charts, live_record, model_card, trend
from inference_app.forecaster import Forecast, Forecaster
from inference_app.freshness import Freshness, days_since, describe_age, format_time
from inference_app.market import (
    MarketSummary,
    candles_for_summary,
    format_change,
    format_price,
    format_volume,
    summarize,
)
from inference_app.serving import BEST, UNTRAINED, LoadedModel

if TYPE_CHECKING:
    import plotly.graph_objects as go

logger = logging.getLogger(__name__)

DATA_ROWS = 20
TABLE_COLUMNS = ["date", "median", "low (10%)", "high (90%)", "change"]
CANDLE_COLUMNS = ["pred. high", "pred. low"]  # the medians of the candle's high and low
_CARD_STYLE = "flex:1;min-width:9em;padding:0.5em 0.8em;border:1px solid #8884;border-radius:8px"
T = TypeVar("T")


@dataclass
class Page:
    """Everything the three tabs show; messages are errors and warnings in plain words."""

    messages: list[str] = field(default_factory=list)
    kpis: str = ""
    chart: go.Figure | None = None
    table: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=TABLE_COLUMNS))
    card: str = ""
    live_text: str = ""  # the live track record, from the prediction log
    live_chart: go.Figure | None = None  # None: nothing scored, the tab shows the line alone
    live_table: pd.DataFrame = field(default_factory=pd.DataFrame)
    backtest_text: str = ""  # the walk-forward backtest of the test period, frozen at training
    backtest_chart: go.Figure | None = None
    backtest_table: pd.DataFrame = field(default_factory=pd.DataFrame)
    trend_text: str = ""  # P(up) per horizon and its measured skill
    trend_chart: go.Figure | None = None
    trend_table: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=trend.TREND_COLUMNS)
    )
    data_text: str = ""
    candles: pd.DataFrame = field(default_factory=pd.DataFrame)
    features: pd.DataFrame = field(default_factory=pd.DataFrame)
    history: pd.DataFrame = field(default_factory=pd.DataFrame)  # raw candles, oldest first
    summary: MarketSummary | None = None
    freshness: Freshness | None = None  # of the candles
    forecast: Forecast | None = None

    @property
    def message(self) -> str:
        return "\n\n".join(f"**{m}**" if m.startswith("error") else m for m in self.messages)


def guarded(page: Page, what: str, work: Callable[[], T]) -> T | None:
    """Run one part of the page; a platform error becomes a message, a bug a logged one-liner."""
    try:
        return work()
    except CandlecastError as error:
        page.messages.append(f"error: {error}")
    except Exception as error:  # a bug must not show a stack trace in the page; the log keeps it
        logger.exception("the %s part of the page failed", what)
        page.messages.append(
            f"error: the {what} could not be built ({type(error).__name__}: {error}); "
            "the server log has the details"
        )
    return None


def build_page(forecaster: Forecaster, symbol: str | None, days: Any, model: str | None) -> Page:
    """The whole page for one choice; each part fails on its own with a clear message."""
    page = Page()
    symbol = (symbol or "").strip().upper()
    if not symbol:
        held = guarded(page, "symbol list", forecaster.symbols)
        if held is not None and not held:
            page.messages.append(
                f"error: the feature store at {forecaster.store.uri} holds no "
                f"{forecaster.interval} features yet; run `candlecast backfill` first"
            )
        elif held:
            symbol = held[0]
    if symbol:
        fill_data(page, forecaster, symbol)
        fill_forecast(page, forecaster, symbol, days, model)
    if page.summary is not None:
        now = forecaster.settings.clock()
        page.kpis = kpi_html(page.summary, status_cards(page.freshness, page.forecast, now))
    page.chart = page.chart or charts.message_figure(_first_error(page) or "nothing to show yet")
    page.backtest_chart = page.backtest_chart or charts.message_figure(
        "no test-period backtest to show"
    )
    page.trend_chart = page.trend_chart or charts.message_figure("no P(up) to show")
    return page


def fill_data(page: Page, forecaster: Forecaster, symbol: str) -> None:
    """KPI row and the Data tab: the latest candles and features with their freshness."""
    interval = forecaster.interval
    rows = max(charts.HISTORY_CANDLES, candles_for_summary(interval))
    candles = guarded(page, "candles", lambda: forecaster.latest(CANDLES, symbol, rows))
    if candles is None:
        return
    page.history = candles
    page.candles = _newest_first(candles, DATA_ROWS)
    page.summary = summarize(candles, interval)
    page.freshness = forecaster.rows_freshness(symbol, candles)
    lines = [f"**candles:** {page.freshness.describe()}"]
    features = guarded(page, "features", lambda: forecaster.latest(FEATURES, symbol, DATA_ROWS))
    if features is not None:
        page.features = _newest_first(features, DATA_ROWS)
        lines.append(f"**features:** {forecaster.rows_freshness(symbol, features).describe()}")
    page.data_text = f"#### {symbol} {forecaster.interval}\n\n" + "  \n".join(lines)


def fill_forecast(
    page: Page, forecaster: Forecaster, symbol: str, days: Any, model: str | None
) -> None:
    """Chart, table, model card and track record of the chosen model."""
    forecast = guarded(page, "forecast", lambda: forecaster.forecast(symbol, days, model))
    if forecast is None:
        return
    page.forecast = forecast
    for warning in (forecast.freshness.warning(), forecast.model_warning()):
        if warning:
            page.messages.append(f"warning: {warning}")
    loaded = forecast.loaded
    best = guarded(
        page, "served model", lambda: forecaster.models.best_version(symbol, forecaster.interval)
    )
    is_best = best is not None and (best.name, best.version) == (
        loaded.version.name,
        loaded.version.version,
    )
    page.table = forecast_table(forecast)
    page.card = model_card.model_card(loaded, best=is_best, age=age_words(forecast))
    page.chart = charts.forecast_figure(page.history, forecast)
    guarded(page, "live track record", lambda: fill_live(page, forecaster, symbol, loaded))
    fill_backtest(page, loaded, forecaster.interval)
    fill_trend(page, forecast)


def fill_live(page: Page, forecaster: Forecaster, symbol: str, loaded: LoadedModel) -> None:
    """The chosen model's logged forecasts vs what happened, its rolling figures vs no change,
    the monitor's verdict on the served model, and the served model's age."""
    served = forecaster.model(symbol)
    outcomes, excluded = forecaster.log.scored(symbol)
    record = live_record.live_record(
        outcomes,
        symbol=symbol,
        interval=forecaster.interval,
        model=loaded.version.name,
        served=served.version.name,
        excluded_in_sample=excluded,
    )
    age = served_words(served, forecaster.settings.clock())
    if record.empty:
        page.live_text = live_record.empty_words(record, age)
        return
    page.live_text = live_record.record_words(record, age)
    page.live_chart = charts.live_record_figure(record, live_record.RECORD_HORIZONS)
    page.live_table = live_record.rolling_table(record)


def fill_backtest(page: Page, loaded: LoadedModel, interval: str) -> None:
    """The walk-forward forecasts of the model's test period, saved with it at training."""
    records = model_card.track_records(loaded.backtest(), interval)
    if not records:
        page.backtest_text = f"{loaded.label} has no walk-forward backtest saved with it."
        return
    page.backtest_chart = charts.track_record_figure(
        records,
        f"{loaded.label}: walk-forward forecasts of its test period vs what happened",
        interval,
    )
    page.backtest_table = model_card.error_table(loaded.metrics)
    page.backtest_text = (
        "Frozen at training. Each point is a forecast made with data up to its origin only: "
        "baselines as they run, a network frozen or refitted on data up to its refit origin; "
        'persistence ("no change") and its empirical band are scored on the same origins. A '
        "ratio below 1 means the model's error (or interval score) was smaller."
    )


def fill_trend(page: Page, forecast: Forecast) -> None:
    """The Trend tab: P(up) per horizon of the forecast, beside its measured test-period skill."""
    p_up = [p.candle.get("p_up") for p in forecast.points]
    label = forecast.loaded.label
    if not p_up or any(p is None for p in p_up):
        page.trend_text = (
            f"{label} gives no P(up): it is the untrained baseline or was saved before models "
            "forecast it."
        )
        return
    horizons = [p.horizon for p in forecast.points]
    page.trend_chart = trend.p_up_figure(horizons, p_up, forecast.interval)
    page.trend_table = trend.trend_table(forecast)
    page.trend_text = trend.trend_words(forecast.loaded.metrics, forecast.interval, label)


def served_words(served: LoadedModel, now: datetime) -> str:
    """'btcusdt-1d-garch version 2, fitted on candles through 2025-12-01: 36 days old'."""
    until = served.trained_until
    if served.role == UNTRAINED or until is None:
        return f"{served.version.name}, untrained (no change with the empirical band of past moves)"
    interval = served.bundle.interval
    return (
        f"{served.version.name} version {served.version.version}, fitted on candles through "
        f"{format_time(until, interval)}: {_age(until, now, interval)} old"
    )


def status_cards(
    freshness: Freshness | None, forecast: Forecast | None, now: datetime
) -> list[tuple[str, str]]:
    """The KPI cards beside the forecast: the last closed candle and how old it is, the model's
    age in days since its last fitting candle."""
    cards = []
    if freshness is not None:
        cards.append(
            (
                "last closed candle",
                f"{freshness.data_through} (closed {describe_age(freshness.age)})",
            )
        )
    if forecast is not None:
        until = forecast.age.trained_until
        if until is None:
            cards.append(("model age", "untrained (no change)"))
        else:
            interval = forecast.interval
            age = f"{_age(until, now, interval)} (fitted through {format_time(until, interval)})"
            cards.append(("model age", age))
    return cards


def _days(count: int) -> str:
    return f"{count} day{'' if count == 1 else 's'}"


def _age(until: datetime, now: datetime, interval: str) -> str:
    """Whole days for daily candles; minutes, hours or days of clock time for shorter ones."""
    if interval == "1d":
        return _days(days_since(until, now))
    return describe_age(now - until).removesuffix(" ago")


def age_words(forecast: Forecast) -> str | None:
    """'2 candles before this forecast's origin' (None for the untrained baseline)."""
    candles = forecast.age.candles
    if candles is None:
        return None
    if candles < 0:
        return "after this forecast's origin: in sample"
    return f"{candles} candle{'' if candles == 1 else 's'} before this forecast's origin"


def forecast_table(forecast: Forecast) -> pd.DataFrame:
    """The forecast as a readable table: date (a time for intraday candles), median, 80% low and
    high, change vs last close, then the predicted candle's high and low when the model has them."""
    rows = [
        (
            format_time(p.date, forecast.interval),
            round(p.median, 2),
            round(p.low, 2),
            round(p.high, 2),
            format_change(p.change),
        )
        for p in forecast.points
    ]
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    candles = charts.predicted_candles(forecast)
    if candles is not None:
        table[CANDLE_COLUMNS[0]] = [round(p.candle["high_median"], 2) for p in forecast.points]
        table[CANDLE_COLUMNS[1]] = [round(p.candle["low_median"], 2) for p in forecast.points]
    return table


def kpi_html(summary: MarketSummary, extra: list[tuple[str, str]] | None = None) -> str:
    """The KPI row as small HTML cards, then the `extra` (label, value) cards."""
    cards = [
        ("last close", format_price(summary.last_close)),
        ("last candle high", format_price(summary.last_high)),
        ("last candle low", format_price(summary.last_low)),
        ("24 h change", format_change(summary.change_24h)),
        ("7 d change", format_change(summary.change_7d)),
        (f"{summary.range_label} high", format_price(summary.range_high)),
        (f"{summary.range_label} low", format_price(summary.range_low)),
        (
            "last candle volume",
            format_volume(summary.volume)
            + f" ({format_change(summary.volume_vs_mean)} vs {summary.range_label} mean)",
        ),
        *(extra or []),
    ]
    items = "".join(
        f'<div class="kpi" style="{_CARD_STYLE}"><div style="font-size:0.8em;opacity:0.7">'
        f'{html.escape(label)}</div><div style="font-size:1.25em;font-weight:600">'
        f"{html.escape(value)}</div></div>"
        for label, value in cards
    )
    return f'<div class="kpis" style="display:flex;flex-wrap:wrap;gap:0.6em">{items}</div>'


def model_choices(forecaster: Forecaster, symbol: str | None) -> list[str]:
    """'best' plus the registered versions of the symbol's models (just 'best' on errors)."""
    if not symbol:
        return [BEST]
    try:
        return [BEST, *forecaster.model_choices(symbol.strip().upper())]
    except CandlecastError:
        return [BEST]


def _newest_first(frame: pd.DataFrame, rows: int) -> pd.DataFrame:
    out = frame.sort_values("open_time", ascending=False).head(rows).copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.strftime("%Y-%m-%d %H:%M")
        elif pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].round(4)
    return out.reset_index(drop=True)


def _first_error(page: Page) -> str | None:
    return next((m.removeprefix("error: ") for m in page.messages if m.startswith("error")), None)
