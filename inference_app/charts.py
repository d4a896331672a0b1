"""Plotly figures: the last 50 candles with the forecast band, and the walk-forward track record."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from inference_app.forecaster import Forecast

HISTORY_CANDLES = 50
BAND_COLOR = "rgba(31, 119, 180, 0.18)"
MEDIAN_COLOR = "#1f77b4"
ACTUAL_COLOR = "#222222"
PERSISTENCE_COLOR = "#999999"
# Trace names are part of the page: the browser test looks for them.
HISTORY_NAME = "close"
MEDIAN_NAME = "forecast median"
BAND_NAME = "80% interval"


def forecast_figure(candles: pd.DataFrame, forecast: Forecast) -> go.Figure:
    """Candlesticks of the last 50 candles, a 'last close' marker, then the median and 80% band."""
    import plotly.graph_objects as go

    from inference_app.model_card import step_words

    history = candles.sort_values("open_time").tail(HISTORY_CANDLES) if len(candles) else candles
    start_x = forecast.freshness.last_open_time
    xs = [start_x, *(p.date for p in forecast.points)]
    close = forecast.last_close
    fig = go.Figure()
    if len(history):
        fig.add_trace(_candlesticks(history))
    fig.add_trace(_line(xs, [close, *(p.high for p in forecast.points)], "80% high", None))
    fig.add_trace(
        _line(xs, [close, *(p.low for p in forecast.points)], BAND_NAME, None, fill="tonexty")
    )
    fig.add_trace(
        _line(xs, [close, *(p.median for p in forecast.points)], MEDIAN_NAME, MEDIAN_COLOR)
    )
    fig.add_trace(
        go.Scatter(
            x=[start_x],
            y=[close],
            mode="markers+text",
            marker={"size": 9, "color": ACTUAL_COLOR},
            text=["last close"],
            textposition="top left",
            name="last close",
            hovertemplate="last close %{y:,.2f}<extra></extra>",
        )
    )
    fig.add_shape(
        type="line",
        x0=start_x,
        x1=start_x,
        y0=0,
        y1=1,
        yref="paper",
        line={"dash": "dot", "color": PERSISTENCE_COLOR, "width": 1},
    )
    fig.update_layout(
        title=f"{forecast.symbol} {forecast.interval}: last {len(history)} candles and "
        f"{step_words(len(forecast.points), forecast.interval)} forecast "
        f"({forecast.model.name}:{forecast.model.version})",
        xaxis_rangeslider_visible=False,
        yaxis_title="price",
        legend={"orientation": "h", "y": -0.15},
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
        height=460,
    )
    return fig


def _candlesticks(history: pd.DataFrame) -> go.Candlestick:
    import plotly.graph_objects as go

    return go.Candlestick(
        x=history["open_time"],
        open=history["open"],
        high=history["high"],
        low=history["low"],
        close=history["close"],
        name=HISTORY_NAME,
    )


def _line(
    xs: list, ys: list[float], name: str, color: str | None, fill: str | None = None
) -> go.Scatter:
    import plotly.graph_objects as go

    band = color is None
    return go.Scatter(
        x=xs,
        y=ys,
        name=name,
        mode="lines" if band else "lines+markers",
        line={
            "width": 0 if band else 2,
            "color": color or BAND_COLOR,
            "dash": None if band else "dash",
        },
        fill=fill,
        fillcolor=BAND_COLOR if fill else None,
        showlegend=not (band and fill is None),
        hovertemplate=f"{name} %{{y:,.2f}}<extra></extra>",
    )


def track_record_figure(
    records: dict[int, pd.DataFrame], title: str, interval: str = "1d"
) -> go.Figure:
    """One panel per horizon: actual close vs the model's forecast (with band) and persistence's."""
    from plotly.subplots import make_subplots

    from inference_app.model_card import ahead_words

    horizons = sorted(records)
    fig = make_subplots(
        rows=max(1, len(horizons)),
        cols=1,
        shared_xaxes=True,
        subplot_titles=[f"{ahead_words(h, interval)} ahead" for h in horizons]
        or ["no track record"],
        vertical_spacing=0.08,
    )
    for row, h in enumerate(horizons, start=1):
        frame = records[h]
        legend = row == 1
        x = frame["target_time"]
        fig.add_trace(_plain(x, frame["high"], "80% high", None, legend=False), row=row, col=1)
        fig.add_trace(
            _plain(x, frame["low"], BAND_NAME, None, legend=legend, fill="tonexty"), row=row, col=1
        )
        fig.add_trace(_plain(x, frame["actual"], "actual", ACTUAL_COLOR, legend), row=row, col=1)
        fig.add_trace(_plain(x, frame["median"], "model", MEDIAN_COLOR, legend), row=row, col=1)
        fig.add_trace(
            _plain(x, frame["persistence"], "persistence", PERSISTENCE_COLOR, legend, dash="dot"),
            row=row,
            col=1,
        )
    fig.update_layout(
        title=title,
        height=320 * max(1, len(horizons)),
        legend={"orientation": "h", "y": -0.08},
        margin={"l": 50, "r": 20, "t": 60, "b": 40},
    )
    return fig


def _plain(
    x: pd.Series,
    y: pd.Series,
    name: str,
    color: str | None,
    legend: bool,
    *,
    fill: str | None = None,
    dash: str | None = None,
) -> go.Scatter:
    import plotly.graph_objects as go

    band = color is None
    return go.Scatter(
        x=x,
        y=y,
        name=name,
        legendgroup=name,
        mode="lines",
        line={"width": 0 if band else 1.5, "color": color or BAND_COLOR, "dash": dash},
        fill=fill,
        fillcolor=BAND_COLOR if fill else None,
        showlegend=legend,
    )


def message_figure(text: str) -> go.Figure:
    """An empty chart that shows a message (no data, no model, bad input)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_annotation(text=text, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_layout(
        xaxis={"visible": False},
        yaxis={"visible": False},
        plot_bgcolor="rgba(0,0,0,0)",
        height=300,
        margin={"t": 20, "b": 20},
    )
    return fig
