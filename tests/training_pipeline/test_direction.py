"""Tests for P(up): the raw probability, its calibration on the inner validation, its scores."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic_series import synthetic_features, with_extremes

from training_pipeline import direction
from training_pipeline.candidates import baseline_extras, fitting_end
from training_pipeline.feature_view import feature_view_from_frame
from training_pipeline.metrics import brier, reliability, skill
from training_pipeline.training_set import prepare


def test_p_up_reads_the_quantiles_as_a_piecewise_linear_cdf() -> None:
    """It gives 0.5 at a zero median and interpolates between the quantiles."""
    forecast = np.array([[[-0.1, 0.0, 0.1], [-0.2, -0.1, 0.1], [0.1, 0.2, 0.4]]])
    p = direction.quantile_up(forecast)[0]
    assert p[0] == pytest.approx(0.5)
    assert p[1] == pytest.approx(1 - (0.5 + 0.4 * 0.1 / 0.2))
    assert p[2] == pytest.approx(1 - direction.CLIP)  # far below the 10% quantile, clipped


def test_brier_and_its_skill_by_hand() -> None:
    """It scores the Brier score, its skill vs climatology and the forest, and reliability."""
    p = np.array([[0.8], [0.4], [0.6], [0.3]])
    up = np.array([[True], [False], [False], [True]])
    forest = np.array([[0.5], [0.5], [0.5], [0.5]])
    scores, tables = direction.direction_scores(p, up, np.array([0.75]), (1,), forest)
    expected = (0.04 + 0.16 + 0.36 + 0.49) / 4
    assert scores["brier_h1"] == pytest.approx(expected)
    climatology = (0.0625 + 0.5625 + 0.5625 + 0.0625) / 4
    assert scores["climatology_brier_h1"] == pytest.approx(climatology)
    assert scores["brier_skill_h1"] == pytest.approx(1 - expected / climatology)
    assert scores["rf_brier_h1"] == pytest.approx(0.25)
    assert scores["brier_skill_rf_h1"] == pytest.approx(1 - expected / 0.25)
    assert scores["pup_da_h1"] == pytest.approx(0.5)  # 0.8 (up) and 0.4 (down) are right
    assert [(row["count"], row["up_rate"]) for row in tables["1"]] == [
        (1, 1.0),
        (1, 0.0),
        (1, 0.0),
        (1, 1.0),
    ]
    assert brier(np.array([1.0, 0.0]), np.array([1, 0])) == 0.0
    assert skill(0.2, 0.25) == pytest.approx(0.2)
    assert sum(r["count"] for r in reliability(np.linspace(0, 1, 21), np.ones(21))) == 21


def test_without_information_the_calibration_falls_back_towards_climatology() -> None:
    """It maps a constant raw probability to a value between the prior's and the data's rate."""
    raw = np.full((200, 1), 0.5)
    up = np.zeros((200, 1), dtype=bool)
    up[:40] = True  # validation up-rate 0.2; fitting data up-rate 0.5
    calibration = direction.fit_calibration(raw, up, np.array([0.5]), source="quantiles")
    p = direction.calibrated(raw, calibration)[0, 0]
    assert 0.2 < p < 0.5
    informative = np.where(up, 0.9, 0.1)
    sharp = direction.fit_calibration(informative, up, np.array([0.5]), source="quantiles")
    assert sharp["a"][0] > 1.0
    assert direction.calibrated(np.array([[0.9]]), sharp)[0, 0] > 0.9


def perturbed_after(frame, row: int, seed: int = 1):
    """The rows with every close and feature after `row` replaced by noise."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    later = out.index > row
    out.loc[later, "close"] *= np.exp(rng.normal(0, 0.2, later.sum()))
    for column in ("volume_z", "ret_1", "high", "low"):
        out.loc[later, column] = out.loc[later, column] * 1.3 + 0.1
    return out


def prepared(frame, config):
    return prepare(feature_view_from_frame(frame, symbol="SYNTHUSDT", interval="1d"), config)


def test_the_p_up_calibration_uses_only_the_inner_validation(tiny_config, make_bundle) -> None:
    """It fits the same P(up) maps, network and baselines, whatever the selection and test
    periods hold."""
    from training_pipeline.fit import with_direction

    frame = with_extremes(synthetic_features())
    data = prepared(frame, tiny_config)
    end = fitting_end(data)
    other = prepared(perturbed_after(frame, end), tiny_config)
    assert not np.allclose(other.view.close, data.view.close)

    network = with_direction(make_bundle(data), data).direction
    assert with_direction(make_bundle(other), other).direction == network
    assert network["calibrated_on"] == "val" and network["origins"] == len(data.val)
    baseline = baseline_extras(data, tiny_config, end)
    assert baseline_extras(other, tiny_config, end) == baseline
    assert baseline["direction"]["origins"] == len(data.val)


def test_the_random_forest_is_fitted_on_the_train_period_only(tiny_config) -> None:
    """It gives the same forest whatever happens after the train period's last label."""
    from training_pipeline.run import _forest_up

    frame = synthetic_features()
    data = prepared(frame, tiny_config)
    last_label = int(data.splits.train[-1]) + data.horizon
    other = prepared(perturbed_after(frame.assign(high=1.0, low=1.0), last_label), tiny_config)
    origins = data.splits.train[-30:]
    first = _forest_up(data, tiny_config, origins, (1, 7))
    assert first.shape == (30, 2) and ((first >= 0) & (first <= 1)).all()
    assert np.array_equal(_forest_up(other, tiny_config, origins, (1, 7)), first)
