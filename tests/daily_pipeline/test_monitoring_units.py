"""Scoring, the monitor's rule and adaptive conformal bands on small hand-made logs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from daily_pipeline import adaptive, predictions
from daily_pipeline.adaptive import ALPHA, GAMMA, MIN_SCORES, adapt, conformity, scaled_band
from daily_pipeline.monitor import monitor_series
from daily_pipeline.scoring import interval_score

DAY = pd.Timedelta(days=1)
START = pd.Timestamp("2025-01-01", tz="UTC")


def test_the_interval_score_is_the_width_plus_the_scaled_miss() -> None:
    """Winkler: width inside; width + 2/alpha * distance outside (alpha = 0.2: 10 times)."""
    low, high = np.array([90.0, 90.0, 90.0]), np.array([110.0, 110.0, 110.0])
    actual = np.array([100.0, 85.0, 112.0])
    assert interval_score(actual, low, high).tolist() == [20.0, 70.0, 40.0]


def outcomes(model: str, errors: list[float], inside: list[bool]) -> pd.DataFrame:
    n = len(errors)
    origins = START + DAY * np.arange(n)
    return pd.DataFrame(
        {
            "model": model,
            "origin_time": origins,
            "target_time": origins + DAY,
            "horizon": 1,
            "error": errors,
            "inside": inside,
            "interval_score": np.abs(errors) * 2.0,
        }
    )


@pytest.mark.parametrize(
    ("n", "error", "hits", "degraded"),
    [
        (30, 1.06, 30, True),  # MAE ratio 1.06 > 1.05
        (30, 1.04, 30, False),
        (30, 1.0, 19, True),  # coverage 63% < 65%
        (30, 1.0, 20, False),  # 67%
        (29, 2.0, 0, False),  # too few scored forecasts to judge
    ],
)
def test_the_served_model_is_degraded_by_its_last_30_h1_forecasts(
    n: int, error: float, hits: int, degraded: bool
) -> None:
    """It flags the served model on MAE ratio > 1.05 or coverage < 65% over the last 30."""
    older = 5 if n >= 30 else 0  # much worse forecasts before the window of 30
    inside = [False] * older + [True] * hits + [False] * (n - hits)
    log = pd.concat(
        [
            outcomes("x-1d-persistence", [1.0] * (older + n), [True] * (older + n)),
            outcomes("x-1d-mlp", [9.0] * older + [error] * n, inside),
        ]
    )
    report = monitor_series(log, "X", "1d", "x-1d-mlp")
    assert report.is_degraded is degraded
    figure = report.figure("x-1d-mlp", 1, 30)
    assert figure is not None and figure.scored == min(n, 30)
    if n >= 30:
        assert figure.mae_ratio == pytest.approx(error)
        assert figure.coverage == pytest.approx(hits / 30)
    else:
        assert "of the 30 scored" in report.note


def test_conformity_is_one_at_the_band_edge_on_either_side() -> None:
    median, low, high = np.full(3, 100.0), np.full(3, 80.0), np.full(3, 125.0)
    actual = np.array([80.0, 125.0, 100.0])
    scores = conformity(actual, median, low, high, np.ones(3))
    assert scores == pytest.approx([1.0, 1.0, 0.0])
    # a band served twice as wide is judged in units of the model's own half-band
    assert conformity(actual, median, low, high, np.full(3, 2.0))[:2] == pytest.approx([2.0, 2.0])


def test_adapt_uses_only_outcomes_known_at_each_origin() -> None:
    """Scores of forecasts whose target is after an origin never move that origin's scale."""
    n = MIN_SCORES + 20
    origins = np.arange(n, dtype=np.int64)
    targets = origins + 1
    scores = np.full(n, 0.5)
    scores[MIN_SCORES + 5 :] = 50.0  # far misses, known only from origin MIN_SCORES + 6 on
    scales = adapt(origins, targets, scores, np.full(n, np.nan))
    assert (scales[:MIN_SCORES] == 1.0).all()  # fewer than MIN_SCORES outcomes known
    assert scales[MIN_SCORES : MIN_SCORES + 6] == pytest.approx(0.5)
    assert scales[-1] == 50.0  # 14 of the last origin's 49 known scores missed far


def test_adapt_keeps_served_scales_and_moves_the_level_by_gamma() -> None:
    """Misses raise the level's complement: after k misses and m hits the quantile level is
    1 - (alpha + gamma * (m * alpha - k * (1 - alpha)))."""
    n = MIN_SCORES + 1
    origins = np.arange(n, dtype=np.int64)
    targets = origins + 1
    rng = np.random.default_rng(7)
    scores = rng.uniform(0.0, 2.0, n)
    given = np.full(n, np.nan)
    given[:MIN_SCORES] = 1.0
    scales = adapt(origins, targets, scores, given)
    assert (scales[:MIN_SCORES] == 1.0).all()
    known = scores[:MIN_SCORES]
    missed = (known > 1.0).sum()
    level = ALPHA + GAMMA * ((MIN_SCORES - missed) * ALPHA - missed * (1 - ALPHA))
    assert scales[-1] == pytest.approx(np.quantile(known, 1 - level))


def test_a_scaled_band_keeps_the_median_and_scales_each_side_in_log_prices() -> None:
    low, high = scaled_band(np.array([100.0]), np.array([80.0]), np.array([125.0]), np.array([2.0]))
    assert low == pytest.approx([64.0]) and high == pytest.approx([156.25])


def test_an_adapted_horizon_serves_the_scaled_band(monkeypatch: pytest.MonkeyPatch) -> None:
    """With h = 1 adapted, a fresh row after 40 scored forecasts that all missed gets a band
    wider than the model's, and the scale is logged with it."""
    monkeypatch.setattr(predictions, "ADAPTED", frozenset({1}))
    n = 40
    origins = START + DAY * np.arange(n + 1)
    closes = pd.Series(100.0 * 1.2 ** (np.arange(n + 2) % 2), index=START + DAY * np.arange(n + 2))
    rows = pd.DataFrame(
        {
            "origin_time": origins,
            "target_time": origins + DAY,
            "horizon": 1,
            "median": closes.iloc[: n + 1].to_numpy(),
            "band_scale": 1.0,
        }
    )
    rows["low"], rows["high"] = rows["median"] * 0.95, rows["median"] * 1.05
    features = pd.DataFrame({"open_time": closes.index, "close": closes.to_numpy()})
    fresh = rows.tail(1).assign(band_scale=1.0)
    out = predictions.adapted(fresh, rows.head(n), features)
    scale = float(out["band_scale"].iloc[0])
    assert scale > 3.0  # each close moved 20%, four times the 5% half-band
    assert out["high"].iloc[0] > fresh["high"].iloc[0] and out["low"].iloc[0] < fresh["low"].iloc[0]
    assert out["median"].iloc[0] == fresh["median"].iloc[0]
    monkeypatch.setattr(predictions, "ADAPTED", adaptive.ADAPTED)
    assert predictions.adapted(fresh, rows.head(n), features)["band_scale"].iloc[0] == 1.0
