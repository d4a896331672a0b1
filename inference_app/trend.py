"""The Trend tab's figures and words: P(up) per horizon beside its measured Brier skill."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

from inference_app import charts
from inference_app.model_card import REPORT_HORIZONS, ahead_words, clock_words

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from inference_app.forecaster import Forecast

P_UP_NAME = "P(up)"

TREND_COLUMNS = [
    "candles ahead",
    "clock time",
    "P(up)",
    "Brier skill vs up-rate",
    "vs random forest",
]


def trend_table(forecast: Forecast) -> pd.DataFrame:
    """Per step: P(up) in %, and the test-period Brier skill where it was measured."""
    metrics = forecast.loaded.metrics
    return pd.DataFrame(
        [
            (
                p.horizon,
                clock_words(p.horizon, forecast.interval),
                f"{p.candle['p_up']:.1%}",
                _skill(metrics.get(f"brier_skill_h{p.horizon}")),
                _skill(metrics.get(f"brier_skill_rf_h{p.horizon}")),
            )
            for p in forecast.points
        ],
        columns=TREND_COLUMNS,
    )


def p_up_figure(horizons: list[int], p_up: list[float], interval: str) -> go.Figure:
    """P(close above the last close) per horizon as bars, with the 50% line."""
    import plotly.graph_objects as go

    fig = go.Figure(
        go.Bar(
            x=horizons,
            y=[p * 100 for p in p_up],
            name=P_UP_NAME,
            marker={"color": charts.MEDIAN_COLOR},
            customdata=[ahead_words(h, interval) for h in horizons],
            hovertemplate="%{customdata} ahead: P(up) %{y:.1f}%<extra></extra>",
        )
    )
    fig.add_hline(y=50, line={"dash": "dot", "color": charts.PERSISTENCE_COLOR, "width": 1})
    fig.update_layout(
        xaxis={"title": "candles ahead", "dtick": 1 if len(horizons) <= 10 else 5},
        yaxis={"title": "P(up) %", "range": [0, 100]},
        height=320,
        margin={"l": 50, "r": 20, "t": 30, "b": 40},
    )
    return fig


def trend_words(metrics: Mapping[str, float], interval: str, label: str) -> str:
    """P(up)'s measured skill in plain words, from the test-period Brier skill per horizon."""
    measured = [
        (h, metrics[f"brier_skill_h{h}"], metrics.get(f"brier_skill_rf_h{h}"))
        for h in REPORT_HORIZONS
        if metrics.get(f"brier_skill_h{h}") is not None
    ]
    head = (
        f"P(up) is {label}'s probability that a candle closes above the last close. Brier skill "
        "compares its Brier score on the test period with always forecasting the up-rate "
        "(0 = no better, 1 = perfect) and with a random forest's P(up)."
    )
    if not measured:
        return f"{head} It has no measured Brier skill: treat these as unmeasured."

    def at(h: int, skill: float, rf: float | None) -> str:
        vs_rf = "" if rf is None else f" ({rf:+.3f} vs the random forest)"
        return f"{skill:+.3f} at {ahead_words(h, interval)} ahead{vs_rf}"

    figures = "; ".join(at(*m) for m in measured)
    skilled = [ahead_words(h, interval) for h, skill, _ in measured if skill > 0]
    unskilled = [ahead_words(h, interval) for h, skill, _ in measured if skill <= 0]
    if not skilled:
        return (
            f"{head}\n\nP(up) has no measured skill here: its Brier skill vs the up-rate was "
            f"{figures}; treat these as a coin flip near 50%."
        )
    text = f"{head}\n\nIts Brier skill vs the up-rate was {figures}."
    if unskilled:
        text += (
            f" It was above 0 at {', '.join(skilled)} ahead only; at {', '.join(unskilled)} "
            "ahead it was no better than the up-rate: read P(up) there as a coin flip near 50%."
        )
    return text


def _skill(value: float | None) -> str:
    return "" if value is None else f"{value:+.3f}"
