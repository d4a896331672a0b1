"""Plotly figures: the last 60 candles with volume, the predicted candles and the forecast band,
the live track record from the prediction log, and the walk-forward backtest
of the test period."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from inference_app.forecaster import Forecast
    from inference_app.live_record import LiveRecord

HISTORY_CANDLES = 60
BAND_COLOR = "rgba(31, 119, 180, 0.18)"
MEDIAN_COLOR = "#1f77b4"
ACTUAL_COLOR = "#222222"
PERSISTENCE_COLOR = "#999999"
# Trace names are part of the page: the browser test looks for them.
HISTORY_NAME = "close"
MEDIAN_NAME = "forecast median"
BAND_NAME = "80% interval"
VOLUME_NAME = "volume"
PREDICTED_NAME = "predicted candles"
PREDICTED_LINE = "rgba(70, 70, 70, 0.9)"  # hollow: outline only, dark grey over the blue band
UP_COLOR = "rgba(61, 153, 112, 0.6)"  # plotly's candlestick colours, lighter
DOWN_COLOR = "rgba(255, 65, 54, 0.6)"
# Logged forecasts: live ones solid blue, hindcasts open orange markers with a paler band.
KIND_STYLES = {
    "live": {"color": MEDIAN_COLOR, "band": "rgba(31, 119, 180, 0.45)", "symbol": "circle"},
    "hindcast": {
        "color": "#ff7f0e",
        "band": "rgba(255, 127, 14, 0.3)",
        "symbol": "circle-open",
    },
}
KIND_NAMES = {
    "live": "live forecast (median, 80% interval)",
    "hindcast": "hindcast (median, 80% interval)",
}
ACTUAL_NAME = "actual close"


def forecast_figure(candles: pd.DataFrame, forecast: Forecast) -> go.Figure:
    """Candlesticks of the last 60 candles, a 'last close' marker, then the predicted candles
    (hollow; when the model forecasts highs and lows), the median and the 80% band of the close;
    under them the volume of the real candles on a shared time axis."""
    from plotly.subplots import make_subplots

    from inference_app.model_card import step_words

    history = candles.sort_values("open_time").tail(HISTORY_CANDLES) if len(candles) else candles
    start_x = forecast.freshness.last_open_time
    xs = [start_x, *(p.date for p in forecast.points)]
    close = forecast.last_close
    predicted = predicted_candles(forecast)
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.78, 0.22], vertical_spacing=0.03
    )
    if len(history):
        fig.add_trace(_candlesticks(history), row=1, col=1)
        fig.add_trace(_volume_bars(history), row=2, col=1)
    for trace in (
        _line(xs, [close, *(p.high for p in forecast.points)], "80% high", None),
        _line(xs, [close, *(p.low for p in forecast.points)], BAND_NAME, None, fill="tonexty"),
        _line(
            xs,
            [close, *(p.median for p in forecast.points)],
            MEDIAN_NAME,
            MEDIAN_COLOR,
            markers=predicted is None,  # the predicted candles' closes mark the steps instead
        ),
        _last_close(start_x, close),
    ):
        fig.add_trace(trace, row=1, col=1)
    if predicted is not None:
        fig.add_trace(_predicted_candlesticks(predicted), row=1, col=1)
    fig.add_shape(
        type="line",
        x0=start_x,
        x1=start_x,
        y0=0,
        y1=1,
        yref="paper",
        line={"dash": "dot", "color": PERSISTENCE_COLOR, "width": 1},
    )
    fig.update_xaxes(rangeslider_visible=False)
    fig.update_yaxes(title_text="price", row=1, col=1)
    fig.update_yaxes(title_text="volume", row=2, col=1)
    fig.update_layout(
        title=f"{forecast.symbol} {forecast.interval}: last {len(history)} candles and "
        f"{step_words(len(forecast.points), forecast.interval)} forecast "
        f"({forecast.model.name}:{forecast.model.version})",
        legend={"orientation": "h", "y": -0.12},
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
        height=580,
    )
    return fig


def predicted_candles(forecast: Forecast) -> pd.DataFrame | None:
    """open_time, open, high, low, close of the forecast candles, or None when the model does not
    forecast highs and lows (a bundle saved before them, the untrained baseline).

    open = the previous candle's (predicted) close, close = the median, high / low = the medians
    of the candle's high and low, widened to the open and close: each median is forecast on its
    own, so they need not be ordered as a candle's prices are.
    """
    points = forecast.points
    highs = [p.candle.get("high_median") for p in points]
    lows = [p.candle.get("low_median") for p in points]
    if not points or any(v is None for v in (*highs, *lows)):
        return None
    closes = [p.median for p in points]
    opens = [forecast.last_close, *closes[:-1]]
    return pd.DataFrame(
        {
            "open_time": [p.date for p in points],
            "open": opens,
            "high": [max(h, o, c) for h, o, c in zip(highs, opens, closes, strict=True)],
            "low": [min(lo, o, c) for lo, o, c in zip(lows, opens, closes, strict=True)],
            "close": closes,
        }
    )


def _predicted_candlesticks(predicted: pd.DataFrame) -> go.Candlestick:
    hollow = {"line": {"color": PREDICTED_LINE, "width": 1.5}, "fillcolor": "rgba(0,0,0,0)"}
    return _candlesticks(
        predicted, PREDICTED_NAME, increasing=hollow, decreasing=hollow, opacity=0.8
    )


def _last_close(x: object, close: float) -> go.Scatter:
    import plotly.graph_objects as go

    return go.Scatter(
        x=[x],
        y=[close],
        mode="markers+text",
        marker={"size": 9, "color": ACTUAL_COLOR},
        text=["last close"],
        textposition="top left",
        name="last close",
        hovertemplate="last close %{y:,.2f}<extra></extra>",
    )


def _volume_bars(history: pd.DataFrame) -> go.Bar:
    """Each candle's volume, coloured as its candlestick (up: close at or above open)."""
    import plotly.graph_objects as go

    up = history["close"] >= history["open"]
    return go.Bar(
        x=history["open_time"],
        y=history["volume"],
        name=VOLUME_NAME,
        marker={"color": [UP_COLOR if u else DOWN_COLOR for u in up]},
        hovertemplate="volume %{y:,.1f}<extra></extra>",
    )


def _candlesticks(candles: pd.DataFrame, name: str = HISTORY_NAME, **style: Any) -> go.Candlestick:
    import plotly.graph_objects as go

    return go.Candlestick(
        x=candles["open_time"],
        open=candles["open"],
        high=candles["high"],
        low=candles["low"],
        close=candles["close"],
        name=name,
        **style,
    )


def _line(
    xs: list,
    ys: list[float],
    name: str,
    color: str | None,
    fill: str | None = None,
    *,
    markers: bool = True,
) -> go.Scatter:
    import plotly.graph_objects as go

    band = color is None
    return go.Scatter(
        x=xs,
        y=ys,
        name=name,
        mode="lines" if band or not markers else "lines+markers",
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


def live_record_figure(record: LiveRecord, horizons: tuple[int, ...] = (1, 7)) -> go.Figure:
    """One panel per horizon: each logged forecast's median and 80% interval at its target
    candle, live and hindcast ones in their own style, over the actual closes."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from inference_app.model_card import ahead_words

    fig = make_subplots(
        rows=len(horizons),
        cols=1,
        shared_xaxes=True,
        subplot_titles=[
            f"forecasts of the close {ahead_words(h, record.interval)} ahead" for h in horizons
        ],
        vertical_spacing=0.1,
    )
    actual = record.actuals()
    shown: set[str] = set()
    for row, h in enumerate(horizons, start=1):
        fig.add_trace(
            go.Scatter(
                x=actual.index,
                y=actual.to_numpy(),
                name=ACTUAL_NAME,
                legendgroup=ACTUAL_NAME,
                showlegend=row == 1,
                mode="lines",
                line={"color": ACTUAL_COLOR, "width": 1.5},
                meta={"horizon": h, "kind": "actual"},
                hovertemplate="actual close %{y:,.2f}<extra></extra>",
            ),
            row=row,
            col=1,
        )
        for kind in KIND_STYLES:
            points = record.points(h, kind)
            if points.empty:
                continue
            fig.add_trace(_logged(points, kind, h, legend=kind not in shown), row=row, col=1)
            shown.add(kind)
    fig.update_layout(
        title=f"{record.symbol} {record.interval} {record.model}: logged forecasts vs what "
        "happened",
        height=330 * len(horizons),
        legend={"orientation": "h", "y": -0.08},
        margin={"l": 50, "r": 20, "t": 70, "b": 40},
    )
    return fig


def _logged(points: pd.DataFrame, kind: str, horizon: int, *, legend: bool) -> go.Scatter:
    import plotly.graph_objects as go

    style = KIND_STYLES[kind]
    median = points["median"].to_numpy()
    return go.Scatter(
        x=points["target_time"],
        y=median,
        name=KIND_NAMES[kind],
        legendgroup=kind,
        showlegend=legend,
        mode="markers",
        marker={"color": style["color"], "symbol": style["symbol"], "size": 7},
        error_y={
            "type": "data",
            "symmetric": False,
            "array": points["high"].to_numpy() - median,
            "arrayminus": median - points["low"].to_numpy(),
            "color": style["band"],
            "thickness": 4,
            "width": 0,
        },
        meta={"horizon": horizon, "kind": kind},
        customdata=list(
            zip(
                points["origin_time"].dt.strftime("%Y-%m-%d %H:%M"),
                points["low"],
                points["high"],
                points["actual"],
                strict=True,
            )
        ),
        hovertemplate=f"{kind}, made at the close of %{{customdata[0]}}<br>median %{{y:,.2f}}, "
        "80%: %{customdata[1]:,.2f} to %{customdata[2]:,.2f}<br>actual %{customdata[3]:,.2f}"
        "<extra></extra>",
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
