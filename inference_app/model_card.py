"""What a model is, why it is served and how it did on its test period, in figures and words."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime

import pandas as pd

from candlecast.intervals import interval_step, interval_words
from inference_app.freshness import format_time
from inference_app.serving import UNTRAINED, LoadedModel

CARD_HORIZONS = (1, 7, 30)
PERIOD_WORDS = {
    "train": "training",
    "val": "inner validation",
    "selection": "selection",
    "test": "test",
}
TRACK_HORIZONS = (1, 7)
REPORT_HORIZONS = (1, 3, 7, 14, 30)
KIND_WORDS = {
    "mlp": "a multilayer perceptron (MLP) over a window of the latest features",
    "lstm": "an LSTM recurrent network over a window of the latest features",
    "persistence": "no change: the median is the last close, and the 80% interval is the 10% to "
    "90% range of the last 365 moves over the same number of candles",
    "garch": "no change with a GARCH band: the median is the last close, and the 80% interval "
    "widens and narrows with the volatility a GARCH(1,1) model with Student-t innovations "
    "forecasts",
}


def clock_words(h: int, interval: str) -> str:
    """The clock time of h candles: '30 minutes', '28 hours', '1 day', '7 days'."""
    minutes = int(interval_step(interval).total_seconds() // 60) * h
    for unit, size in (("day", 1440), ("hour", 60)):
        if minutes % size == 0:
            count = minutes // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{minutes} minute{'' if minutes == 1 else 's'}"


def step_words(h: int, interval: str) -> str:
    """'7-day' for daily candles, '7-candle (28-hour)' otherwise."""
    if interval == "1d":
        return f"{h}-day"
    count, unit = clock_words(h, interval).split()
    return f"{h}-candle ({count}-{unit.removesuffix('s')})"


def ahead_words(h: int, interval: str) -> str:
    """'1 day' / '7 days' (ahead) for daily candles, '7 candles (28 hours)' otherwise."""
    if interval == "1d":
        return clock_words(h, interval)
    return f"{h} candle{'' if h == 1 else 's'} ({clock_words(h, interval)})"


def compare_words(ratio: float) -> str:
    """A ratio to a baseline as words: '1.0% lower than', '2.3% higher than'."""
    if not math.isfinite(ratio):
        return "not comparable with"
    if abs(ratio - 1) < 0.0005:
        return "the same as"
    return f"{abs(ratio - 1):.1%} {'lower' if ratio < 1 else 'higher'} than"


def backtest_period(backtest: pd.DataFrame) -> tuple[int, datetime, datetime] | None:
    """Number of forecast origins and their first and last time, or None without a backtest."""
    if backtest.empty:
        return None
    origins = pd.to_datetime(backtest["origin_time"], utc=True)
    return origins.nunique(), origins.min().to_pydatetime(), origins.max().to_pydatetime()


def track_record_sentences(
    metrics: Mapping[str, float],
    interval: str,
    period: tuple[int, datetime, datetime] | None,
    *,
    baseline: bool = False,
) -> list[str]:
    """'On the 365 test origins (...), this model's 7-day error was 1.0% lower than ...'."""
    if period is None:
        where = "On its walk-forward test period"
    else:
        count, first, last = period
        unit = "days" if interval == "1d" else f"{interval_words(interval)} candles"
        where = f"On the {count} {unit} of its test period ({first:%Y-%m-%d} to {last:%Y-%m-%d})"
    sentences = []
    errors = [
        f"{step_words(h, interval)} error was {compare_words(metrics[f'mae_ratio_h{h}'])}"
        for h in CARD_HORIZONS
        if f"mae_ratio_h{h}" in metrics and not baseline
    ]
    if errors:
        sentences.append(f"{where}, this model's " + "; ".join(errors) + " assuming no change.")
    coverage = [
        f"{metrics[f'coverage80_h{h}']:.0%} of the time {ahead_words(h, interval)} ahead"
        for h in CARD_HORIZONS
        if f"coverage80_h{h}" in metrics
    ]
    if coverage:
        lead = "Its" if errors else f"{where}, its"
        sentences.append(
            f"{lead} 80% interval held the actual close " + ", ".join(coverage) + " (aim: 80%)."
        )
    scores = [
        f"{compare_words(metrics[f'winkler_ratio_h{h}'])} the empirical band's "
        f"{ahead_words(h, interval)} ahead"
        for h in CARD_HORIZONS
        if f"winkler_ratio_h{h}" in metrics
    ]
    if scores:
        sentences.append(
            "Its interval score (width plus a penalty for each miss; lower is better) was "
            + ", ".join(scores)
            + "."
        )
    return sentences or ["It has no walk-forward metrics yet."]


def model_card(loaded: LoadedModel, *, best: bool, age: str | None = None) -> str:
    """A Markdown card: name, what it is, why it is served, when fitted, its test figures."""
    version, bundle = loaded.version, loaded.bundle
    if loaded.role == UNTRAINED:
        return (
            f"### No trained model for {bundle.symbol} {bundle.interval}\n\n"
            f"**What is shown:** {KIND_WORDS['persistence']}. Train models with "
            f"`candlecast train --symbols {bundle.symbol} --interval {bundle.interval}`."
        )
    lines = [
        f"### {version.name} · version {version.version}" + (" · served" if best else ""),
        f"**What it is:** {KIND_WORDS.get(bundle.kind, bundle.kind)}"
        + (f" ({bundle.window} candles)" if not bundle.is_baseline else "")
        + f". It forecasts 1 to {bundle.horizon} candles ahead.",
    ]
    if loaded.decision:
        lines.append(f"**Why it is served:** {loaded.decision}.")
    fitted = _fitted_words(loaded, age)
    if fitted:
        lines.append(fitted)
    lines.append(
        " ".join(
            track_record_sentences(
                loaded.metrics,
                bundle.interval,
                backtest_period(loaded.backtest()),
                baseline=bundle.is_baseline,
            )
        )
    )
    return "\n\n".join(lines)


def _fitted_words(loaded: LoadedModel, age: str | None) -> str:
    data = loaded.bundle.data
    periods = data.get("periods") or {}
    parts = []
    if loaded.trained_until is not None:
        parts.append(
            f"**Fitted on** {loaded.bundle.symbol} {loaded.bundle.interval} candles through "
            f"{format_time(loaded.trained_until, loaded.bundle.interval)}"
            + (f" ({age})" if age else "")
        )
    if periods:
        named = [(PERIOD_WORDS[name], periods[name]) for name in PERIOD_WORDS if name in periods]
        parts.append(
            "Periods: " + "; ".join(f"{words} {d[0][:10]} to {d[1][:10]}" for words, d in named)
        )
    return ". ".join(parts) + "." if parts else ""


def track_records(
    backtest: pd.DataFrame, interval: str, horizons: tuple[int, ...] = TRACK_HORIZONS
) -> dict[int, pd.DataFrame]:
    """Per horizon: target_time, actual, median, low, high, persistence (prices), oldest first."""
    if backtest.empty:
        return {}
    step = interval_step(interval)
    out = {}
    for h in horizons:
        rows = backtest[backtest["horizon"] == h].sort_values("origin_time")
        if rows.empty:
            continue
        target = pd.to_datetime(rows["origin_time"], utc=True) + step * h
        out[h] = pd.DataFrame(
            {
                "target_time": target.to_numpy(),
                **{
                    c: rows[c].to_numpy()
                    for c in ("actual", "median", "low", "high", "persistence")
                },
            }
        )
    return out


def error_table(
    metrics: Mapping[str, float | None], horizons: tuple[int, ...] = REPORT_HORIZONS
) -> pd.DataFrame:
    """Per horizon: MAE next to persistence's, interval score next to the empirical band's.

    The numbers are the model's registered test metrics (`training_pipeline.backtest.score`).
    """
    rows = []
    for h in horizons:
        if metrics.get(f"mae_h{h}") is None:
            continue
        rows.append(
            {
                "horizon": h,
                "origins": int(metrics["origins"]),
                "model MAE": round(metrics[f"mae_h{h}"], 2),
                "persistence MAE": round(metrics[f"persistence_mae_h{h}"], 2),
                "MAE ratio": _round(metrics.get(f"mae_ratio_h{h}")),
                "interval score ratio": _round(metrics.get(f"winkler_ratio_h{h}")),
                "80% coverage": f"{metrics[f'coverage80_h{h}']:.0%}",
            }
        )
    return pd.DataFrame(rows)


def _round(value: float | None) -> float:
    return round(value, 3) if value is not None else float("nan")
