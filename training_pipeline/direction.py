"""Up/down probabilities P(close[t+h] > close[t]): raw, calibrated on the inner validation, scored.

The raw probability comes from the model's forecast distribution: for a network, its
log-return quantiles (0.1, 0.5, 0.9) read as a piecewise-linear CDF, evaluated at 0
(`quantile_up`); for a baseline, the distribution its band is cut from, the trailing `trail`
h-candle moves (`trailing_up`). Per horizon, a Platt map sigmoid(a * logit(raw) + b) is
fitted on the inner validation only, by penalised likelihood: the overlapping h-candle
outcomes count as their effective sample size, and a prior worth PRIOR_OBSERVATIONS outcomes
pulls (a, b) towards (0, logit(up-rate of the fitting data)), i.e. towards climatology, so a
short validation period cannot make the probabilities confident.

Scores (`direction_scores`): Brier score, its skill against climatology (the fitting data's
up-rate) and against a random forest fitted on the train period's origin rows, a reliability
table, and the directional accuracy of P(up) >= 0.5 with an interval over overlapping windows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from training_pipeline import metrics as m

CLIP = 0.01  # probabilities stay within [CLIP, 1 - CLIP]
PRIOR_OBSERVATIONS = 10.0
TINY = 1e-12
FOREST = {
    "n_estimators": 200,
    "max_depth": 4,
    "min_samples_leaf": 20,
    "max_features": "sqrt",
    "n_jobs": 1,
}


def quantile_up(forecast: np.ndarray) -> np.ndarray:
    """(n, horizon) P(log return > 0) from (n, horizon, 3) quantiles 0.1 / 0.5 / 0.9.

    The CDF is linear between the quantiles and continues with the outer segments' slopes.
    """
    q10, q50, q90 = forecast[..., 0], forecast[..., 1], forecast[..., 2]
    below = 0.1 + 0.4 * (0.0 - q10) / np.maximum(q50 - q10, TINY)
    above = 0.5 + 0.4 * (0.0 - q50) / np.maximum(q90 - q50, TINY)
    cdf = np.where(q50 >= 0.0, below, above)
    return np.clip(1.0 - cdf, CLIP, 1.0 - CLIP)


def trailing_up(log_close: np.ndarray, origins: np.ndarray, horizon: int, trail: int) -> np.ndarray:
    """(n, horizon) share of up-moves in the last `trail` h-candle moves closed by each origin."""
    log_close = np.asarray(log_close, dtype=np.float64)
    origins = np.asarray(origins, dtype=np.int64)
    out = np.zeros((len(origins), horizon))
    for h in range(1, horizon + 1):
        moves = log_close[h:] - log_close[:-h]
        windows = np.lib.stride_tricks.sliding_window_view(moves > 0, trail)
        out[:, h - 1] = windows[origins - h - trail + 1].mean(axis=1)
    return np.clip(out, CLIP, 1.0 - CLIP)


def up_rate(labels: np.ndarray, origins: np.ndarray) -> np.ndarray:
    """(horizon,) share of up-moves among the labels (h-candle log returns) at `origins`."""
    return (np.asarray(labels)[np.asarray(origins)] > 0).mean(axis=0)


def fit_calibration(
    raw: np.ndarray,
    up: np.ndarray,
    base_rate: np.ndarray,
    *,
    source: str,
    prior: float = PRIOR_OBSERVATIONS,
) -> dict[str, Any]:
    """Per-horizon Platt maps fitted on (n, horizon) raw probabilities and 0/1 outcomes."""
    a, b, n_eff = [], [], []
    for h in range(1, raw.shape[1] + 1):
        x = _logit(raw[:, h - 1])
        y = np.asarray(up[:, h - 1], dtype=np.float64)
        size = m.effective_size(y, h)
        slope, intercept = _platt(x, y, size / len(y), _logit(base_rate[h - 1]), prior)
        a.append(slope)
        b.append(intercept)
        n_eff.append(size)
    return {
        "source": source,
        "method": "platt",
        "a": a,
        "b": b,
        "base_rate": [float(v) for v in base_rate],
        "n_eff": n_eff,
        "origins": int(raw.shape[0]),
        "prior_observations": prior,
        "calibrated_on": "val",
    }


def calibrated(raw: np.ndarray, calibration: dict[str, Any]) -> np.ndarray:
    """The calibrated P(up) of (n, horizon) raw probabilities."""
    a = np.asarray(calibration["a"], dtype=np.float64)[None, :]
    b = np.asarray(calibration["b"], dtype=np.float64)[None, :]
    p = 1.0 / (1.0 + np.exp(-(a * _logit(raw) + b)))
    return np.clip(p, CLIP, 1.0 - CLIP)


def _platt(
    x: np.ndarray, y: np.ndarray, weight: float, centre: float, prior: float
) -> tuple[float, float]:
    """Penalised logistic regression y ~ sigmoid(a x + b) by Newton's method (it is convex)."""
    precision = 0.25 * prior  # a Bernoulli outcome near p = 0.5 carries information 1/4
    theta = np.array([0.0, centre])
    target = np.array([0.0, centre])
    design = np.column_stack([x, np.ones_like(x)])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(design @ theta)))
        gradient = weight * design.T @ (p - y) + precision * (theta - target)
        hessian = weight * (design.T * (p * (1.0 - p))) @ design + precision * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if np.max(np.abs(step)) < 1e-10:
            break
    return float(theta[0]), float(theta[1])


def _logit(p: np.ndarray | float) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), CLIP, 1.0 - CLIP)
    return np.log(p / (1.0 - p))


# -- the random-forest benchmark --------------------------------------------------------------


def fit_forest(
    frame: pd.DataFrame,
    columns: tuple[str, ...],
    labels: np.ndarray,
    origins: np.ndarray,
    horizons: tuple[int, ...],
    *,
    seed: int = 42,
) -> Any:
    """A seeded random forest of up/down at each horizon, fitted on the origin rows given."""
    from sklearn.ensemble import RandomForestClassifier

    origins = np.asarray(origins, dtype=np.int64)
    x = frame[list(columns)].to_numpy(dtype=np.float64)[origins]
    y = (labels[origins][:, [h - 1 for h in horizons]] > 0).astype(int)
    return RandomForestClassifier(**FOREST, random_state=seed).fit(x, y)


def forest_up(
    forest: Any, frame: pd.DataFrame, columns: tuple[str, ...], origins: np.ndarray
) -> np.ndarray:
    """(n, horizons) the forest's P(up) at `origins`, one column per horizon it was fitted on."""
    x = frame[list(columns)].to_numpy(dtype=np.float64)[np.asarray(origins, dtype=np.int64)]
    proba = forest.predict_proba(x)
    proba = proba if isinstance(proba, list) else [proba]
    columns_up = []
    for classes, p in zip(forest.classes_, proba, strict=True):
        hit = np.flatnonzero(np.asarray(classes) == 1)
        columns_up.append(p[:, hit[0]] if len(hit) else np.zeros(len(x)))
    return np.column_stack(columns_up)


# -- scores -----------------------------------------------------------------------------------


def direction_scores(
    p_up: np.ndarray,
    up: np.ndarray,
    base_rate: np.ndarray,
    horizons: tuple[int, ...],
    forest: np.ndarray | None = None,
) -> tuple[dict[str, float], dict[str, list[dict[str, float]]]]:
    """Per horizon: Brier, its skill vs climatology and the forest, DA; and reliability tables.

    `p_up` and `up` are (n, horizon); `forest` is (n, len(horizons)) or None.
    """
    out: dict[str, float] = {}
    tables: dict[str, list[dict[str, float]]] = {}
    for j, h in enumerate(horizons):
        if h > p_up.shape[1]:
            continue
        p, y = p_up[:, h - 1], up[:, h - 1].astype(np.float64)
        score = m.brier(p, y)
        climatology = m.brier(np.full_like(p, base_rate[h - 1]), y)
        hits = (p >= 0.5) == (y > 0.5)
        da_low, da_high = m.proportion_interval(hits, h)
        out.update(
            {
                f"brier_h{h}": score,
                f"climatology_brier_h{h}": climatology,
                f"brier_skill_h{h}": m.skill(score, climatology),
                f"base_rate_h{h}": float(base_rate[h - 1]),
                f"p_up_mean_h{h}": float(p.mean()),
                f"pup_da_h{h}": float(hits.mean()),
                f"pup_da_low_h{h}": da_low,
                f"pup_da_high_h{h}": da_high,
            }
        )
        if forest is not None:
            rf = m.brier(forest[:, j], y)
            out[f"rf_brier_h{h}"] = rf
            out[f"brier_skill_rf_h{h}"] = m.skill(score, rf)
        tables[str(h)] = m.reliability(p, y)
    return out, tables
