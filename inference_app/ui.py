"""The Gradio Blocks app, built by a factory: Forecast, Trend, Track record, Data tabs and the
/forecast API."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from candlecast.errors import CandlecastError
from candlecast.intervals import interval_words
from candlecast.settings import Settings
from inference_app.forecaster import MAX_DAYS, Forecaster, default_steps
from inference_app.serving import BEST
from inference_app.views import Page, build_page, model_choices

if TYPE_CHECKING:
    import gradio as gr

logger = logging.getLogger(__name__)

API_NAME = "forecast"  # the stable endpoint: Client(url).predict(..., api_name="/forecast")
REFRESH_SECONDS = 300.0
# How many events run at once (one queue for all of them). benchmarks/app.py part 4: the app in its
# own process, 20 gradio_clients in another calling /forecast at once (200 calls), on 2 cores shared
# with other jobs (load average 5-12); median of 3 runs, p95 (calls/s) at limits 1 / 2 / 4:
# store on local disk 5.83 s (4.8) / 4.99 s (5.3) / 5.17 s (6.1); store on moto's S3 (registry too
# in 2 runs) 7.41 s (3.5) / 7.12 s (3.8) / 7.28 s (3.5). Run to run p95 moved by up to 2.7x (limit 1
# on local disk: 3.0 to 8.2 s), more than between limits; 2 made no p95 worse: the default.
CONCURRENCY_LIMIT = 2


def intro(interval: str) -> str:
    """The page's heading text, in terms of the interval's candles."""
    return (
        "# candlecast\n"
        f"Forecasts of the next {interval_words(interval)} candles' closes, from closed Binance "
        "candles, with an 80% interval, and each candle's high, low and P(close up). The served "
        'model is a network only when it beat "no change" significantly on a period nothing was '
        "fitted on; otherwise it is no change with a volatility band. The model card shows its "
        "test figures. Not financial advice."
    )


def build_app(
    settings: Settings,
    *,
    forecaster: Forecaster | None = None,
    refresh_seconds: float = REFRESH_SECONDS,
    concurrency_limit: int = CONCURRENCY_LIMIT,
) -> gr.Blocks:
    """The app; nothing is read or loaded until the first page load or API call.

    concurrency_limit: how many events (page loads, forecasts, API calls) run at once; the
    others wait in one queue.
    """
    import gradio as gr

    if concurrency_limit < 1:
        raise ValueError(f"concurrency_limit must be at least 1, got {concurrency_limit}")
    forecaster = forecaster or Forecaster(settings)
    interval = forecaster.interval
    steps = default_steps(interval)
    queue = {"concurrency_id": "candlecast", "concurrency_limit": concurrency_limit}
    with gr.Blocks(title="candlecast forecasts") as demo:
        gr.Markdown(intro(interval))
        message = gr.Markdown(elem_id="message")
        with gr.Tab("Forecast"):
            with gr.Row():
                symbol = gr.Dropdown(
                    label="Symbol", choices=[], allow_custom_value=True, elem_id="symbol"
                )
                days = gr.Slider(
                    1,
                    MAX_DAYS,
                    value=steps,
                    step=1,
                    label=f"Candles ahead ({interval_words(interval)} candles)",
                    elem_id="days",
                )
                model = gr.Dropdown(
                    label="Model",
                    choices=[BEST],
                    value=BEST,
                    allow_custom_value=True,
                    elem_id="model",
                )
                button = gr.Button("Forecast", variant="primary", elem_id="forecast-button")
            kpis = gr.HTML(elem_id="kpi-row")
            chart = gr.Plot(label="Forecast", elem_id="forecast-chart")
            with gr.Row():
                table = gr.Dataframe(label="Forecast", elem_id="forecast-table", interactive=False)
                card = gr.Markdown(elem_id="model-card")
        with gr.Tab("Trend"):
            trend_text = gr.Markdown(elem_id="trend-text")
            trend_chart = gr.Plot(label="P(up) per horizon", elem_id="trend-chart")
            trend_table = gr.Dataframe(
                label="P(up) and its test-period Brier skill",
                elem_id="trend-table",
                interactive=False,
            )
        with gr.Tab("Track record"):
            live_text = gr.Markdown(elem_id="live-text")
            live_chart = gr.Plot(
                label="Logged forecasts vs what happened", elem_id="live-chart", visible=False
            )
            live_table = gr.Dataframe(
                label="Rolling figures of the scored forecasts vs no change from the same origins",
                elem_id="live-table",
                interactive=False,
                visible=False,
            )
            gr.Markdown("### Test-period backtest (walk-forward, frozen at training)")
            backtest_text = gr.Markdown(elem_id="backtest-text")
            backtest_chart = gr.Plot(label="Test-period backtest", elem_id="backtest-chart")
            backtest_table = gr.Dataframe(
                label="Test-period error vs persistence",
                elem_id="backtest-table",
                interactive=False,
            )
        with gr.Tab("Data"):
            data_text = gr.Markdown(elem_id="freshness")
            candles = gr.Dataframe(label="Latest candles", interactive=False)
            features = gr.Dataframe(label="Latest features", interactive=False)
        timer = gr.Timer(refresh_seconds)

        page_outputs = [
            message,
            kpis,
            chart,
            table,
            card,
            trend_text,
            trend_chart,
            trend_table,
            live_text,
            live_chart,
            live_table,
            backtest_text,
            backtest_chart,
            backtest_table,
            data_text,
            candles,
            features,
        ]
        choices = [symbol, days, model]

        def render(symbol_value: str | None, days_value: Any, model_value: str | None) -> tuple:
            return page_values(build_page(forecaster, symbol_value, days_value, model_value))

        def reload(symbol_value: str | None, days_value: Any, model_value: str | None) -> tuple:
            held = _symbols(forecaster)
            chosen = _default_symbol(symbol_value, held, settings)
            models = model_choices(forecaster, chosen)
            model_value = model_value if model_value in models else BEST
            page = build_page(forecaster, chosen, days_value, model_value)
            return (
                gr.Dropdown(choices=held, value=chosen),
                gr.Dropdown(choices=models, value=model_value),
                *page_values(page),
            )

        def symbol_changed(symbol_value: str | None) -> Any:
            return gr.Dropdown(choices=model_choices(forecaster, symbol_value), value=BEST)

        def forecast(symbol: str, days: int = steps, model: str = BEST) -> dict:
            """Forecast the closes of the next `days` candles of `symbol` with the chosen model
            (`days` counts candles of the app's interval; the name stays for compatibility).

            Returns the JSON envelope of `candlecast forecast --json`: symbol, interval, model
            {name, version, kind}, data_through, last_close, stale, warning and forecast, a list of
            {date, horizon, median, low, high, change, high_median, high_q10, high_q90,
            low_median, low_q10, low_q90, p_up} (the last seven null when the model lacks them).
            """
            try:
                return forecaster.forecast(symbol, days, model).to_dict()
            except CandlecastError as error:
                raise gr.Error(str(error), print_exception=False) from None

        demo.load(
            reload, choices, [symbol, model, *page_outputs], api_visibility="private", **queue
        )
        timer.tick(
            reload, choices, [symbol, model, *page_outputs], api_visibility="private", **queue
        )
        button.click(render, choices, page_outputs, api_visibility="private", **queue)
        symbol.input(symbol_changed, symbol, model, api_visibility="private", **queue)
        gr.api(forecast, api_name=API_NAME, **queue)
    return demo


def page_values(page: Page) -> tuple:
    """The page in the order of the app's page outputs; the live chart and table only show
    when the prediction log has scored forecasts of the model."""
    import gradio as gr

    live = page.live_chart is not None
    return (
        page.message,
        page.kpis,
        page.chart,
        page.table,
        page.card,
        page.trend_text,
        page.trend_chart,
        page.trend_table,
        page.live_text,
        gr.Plot(page.live_chart, visible=live),
        gr.Dataframe(page.live_table, visible=live),
        page.backtest_text,
        page.backtest_chart,
        page.backtest_table,
        page.data_text,
        page.candles,
        page.features,
    )


def _symbols(forecaster: Forecaster) -> list[str]:
    try:
        return forecaster.symbols()
    except CandlecastError as error:
        logger.warning("cannot list the store's symbols: %s", error)
        return []


def _default_symbol(current: str | None, held: list[str], settings: Settings) -> str | None:
    """The user's choice, else the first configured symbol the store holds, else the first held."""
    if current:
        return current
    preferred = [s for s in settings.symbols if s in held]
    return (preferred or held or [None])[0]
