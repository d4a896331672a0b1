"""What a model is and how it did on its walk-forward test period, in plain words and tables."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime

import pandas as pd

from feature_pipeline.klines import interval_step
from inference_app.models import LoadedModel

CARD_HORIZONS = (1, 7, 30)
TRACK_HORIZONS = (1, 7)
REPORT_HORIZONS = (1, 3, 7, 14, 30)
KIND_WORDS = {
    "mlp": "a multilayer perceptron (MLP) over a window of the latest features",
    "lstm": "an LSTM recurrent network over a window of the latest features",
    "persistence": 'the persistence baseline: it assumes "no change" from the last close',
}


def step_words(h: int, interval: str) -> str:
    """'7-day' for daily candles, '7-step (4h)' otherwise."""
    return f"{h}-day" if interval == "1d" else f"{h}-step ({interval})"


def ahead_words(h: int, interval: str) -> str:
    """'1 day' / '7 days' ahead for daily candles, '7 steps' otherwise."""
    unit = "day" if interval == "1d" else "step"
    return f"{h} {unit}{'' if h == 1 else 's'}"


def compare_words(ratio: float) -> str:
    """An MAE ratio vs persistence as words: '1.0% lower than', '2.3% higher than'."""
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
    """'On the last 365 days (...) this model's 7-day error was 1.0% lower than ...'."""
    if baseline:  # persistence compared with itself says nothing; its interval still does
        metrics = {k: v for k, v in metrics.items() if not k.startswith("mae_ratio_")}
    parts = [
        f"its {step_words(h, interval)} error was {compare_words(metrics[f'mae_ratio_h{h}'])} "
        "assuming no change"
        for h in CARD_HORIZONS
        if f"mae_ratio_h{h}" in metrics
    ]
    if period is None:
        where = "On its walk-forward test period"
    else:
        count, first, last = period
        unit = "days" if interval == "1d" else f"{interval} candles"
        where = (
            f"On the last {count} {unit} of walk-forward testing "
            f"({first:%Y-%m-%d} to {last:%Y-%m-%d})"
        )
    sentences = []
    if parts:
        sentences.append(f"{where}, this model's " + "; ".join(parts).removeprefix("its ") + ".")
    coverage = [
        f"{metrics[f'coverage80_h{h}']:.0%} of the time {ahead_words(h, interval)} ahead"
        for h in CARD_HORIZONS
        if f"coverage80_h{h}" in metrics
    ]
    if coverage:
        lead = "Its" if parts else f"{where}, its"
        sentences.append(
            f"{lead} 80% interval held the actual close "
            + ", ".join(coverage)
            + " (the aim is 80%)."
        )
    return sentences or ["It has no walk-forward metrics yet."]


def model_card(loaded: LoadedModel, *, best: bool) -> str:
    """A Markdown card: name, version, what it is, when trained, data through, track record."""
    version, bundle, metrics = loaded.version, loaded.bundle, loaded.metrics
    lines = [
        f"### {version.name} · version {version.version}" + (" · best" if best else ""),
        f"**What it is:** {KIND_WORDS.get(bundle.kind, bundle.kind)}"
        + (f" ({bundle.window} candles)" if bundle.kind != "persistence" else "")
        + f", forecasting 1 to {bundle.horizon} candles ahead with an 80% interval.",
        f"**Trained:** {version.created:%Y-%m-%d %H:%M} UTC on {bundle.symbol} {bundle.interval}"
        + _data_range(bundle.data)
        + ".",
        " ".join(
            track_record_sentences(
                metrics,
                bundle.interval,
                backtest_period(loaded.backtest()),
                baseline=bundle.kind == "persistence",
            )
        ),
    ]
    if bundle.kind == "persistence" and best:
        lines.append(
            f"> The best model for {bundle.symbol} {bundle.interval} is **persistence**: "
            'no trained model beat "no change" on the validation period, so the forecast '
            "median is the last close and the interval comes from the spread of past moves."
        )
    return "\n\n".join(lines)


def _data_range(data: Mapping[str, object]) -> str:
    first, last = data.get("first_open_time"), data.get("last_open_time")
    if not first or not last:
        return ""
    return f" data from {str(first)[:10]} through {str(last)[:10]}"


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
    """Per horizon: model and persistence MAE on the same test origins, their ratio, coverage.

    The numbers are the model's registered test metrics (`training_pipeline.backtest.score`).
    """
    rows = []
    for h in horizons:
        if metrics.get(f"mae_h{h}") is None:
            continue
        ratio = metrics.get(f"mae_ratio_h{h}")
        rows.append(
            {
                "horizon": h,
                "origins": int(metrics["origins"]),
                "model MAE": round(metrics[f"mae_h{h}"], 2),
                "persistence MAE": round(metrics[f"persistence_mae_h{h}"], 2),
                "MAE ratio": round(ratio, 3) if ratio is not None else float("nan"),
                "80% coverage": f"{metrics[f'coverage80_h{h}']:.0%}",
            }
        )
    return pd.DataFrame(rows)
