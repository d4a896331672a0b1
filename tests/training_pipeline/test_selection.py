"""Tests for the gated selection rule, on walk-forward frames with known errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training_pipeline.selection import decide, scorecard

PERIOD = ("2024-01-01T00:00:00+00:00", "2024-12-31T00:00:00+00:00")


def frame(
    horizon: int = 7,
    n: int = 365,
    *,
    skill: dict[int, float] | None = None,
    band: float = 1.0,
    garch_band: float = 1.0,
    noise: float = 0.0,
    seed: int = 0,
) -> pd.DataFrame:
    """A selection-period frame: random-walk actuals, persistence, both baseline bands, a model.

    The model's median moves a `skill[h]` share of the way from the last close to the actual
    (0: persistence, negative: away from it), plus `noise` (a share of the close) that has
    nothing to do with the outcome; its band is `band` times the empirical band's
    width around its median; the GARCH band is `garch_band` times the empirical one.
    """
    rng = np.random.default_rng(seed)
    sigma = 0.02
    origin = 100.0 * np.exp(np.cumsum(rng.normal(0, sigma, n)))
    rows = []
    for h in range(1, horizon + 1):
        move = rng.normal(0, sigma * np.sqrt(h), n)
        actual = origin * np.exp(move)
        share = (skill or {}).get(h, 0.0)
        median = origin + share * (actual - origin) + noise * origin * rng.normal(size=n)
        half = 1.2816 * sigma * np.sqrt(h) * origin
        rows.append(
            pd.DataFrame(
                {
                    "origin_time": pd.date_range("2024-01-01", periods=n, tz="UTC"),
                    "horizon": h,
                    "origin_close": origin,
                    "actual": actual,
                    "low": median - band * half,
                    "median": median,
                    "high": median + band * half,
                    "persistence": origin,
                    "persistence_low": origin - half,
                    "persistence_high": origin + half,
                    "garch_low": origin - garch_band * half,
                    "garch_high": origin + garch_band * half,
                    "drift": origin,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def baselines(**garch: float) -> list:
    base = frame(**garch)
    persistence = base.assign(low=base["persistence_low"], high=base["persistence_high"])
    return [
        scorecard("persistence", persistence),
        scorecard("garch", base.assign(low=base["garch_low"], high=base["garch_high"])),
    ]


def test_a_network_that_is_significantly_better_is_served() -> None:
    """It serves a network whose errors are smaller at h = 1 and 7 and whose band scores better."""
    skilled = frame(skill=dict.fromkeys(range(1, 8), 0.3), band=0.8)
    decision = decide([*baselines(), scorecard("lstm", skilled)], PERIOD)
    assert decision.served == "lstm" and not decision.serves_baseline
    assert "DM p = 0.000" in decision.reasons["lstm"]
    sentence = decision.sentence("2026-01-05T00:00:00+00:00")
    assert sentence.startswith("lstm beat 'no change' on 2024-01-01..2024-12-31")
    assert sentence.endswith("serving it, refit through 2026-01-05")


def test_a_network_no_better_than_no_change_is_not_served() -> None:
    """It serves the GARCH band when the network is not significantly better at h = 1."""
    noisy = frame(noise=0.004, seed=0)
    decision = decide([*baselines(), scorecard("mlp", noisy)], PERIOD)
    assert decision.served == "garch" and decision.best_baseline == "garch"
    assert "at h = 1" in decision.reasons["mlp"] and "needs < 0.1" in decision.reasons["mlp"]
    sentence = decision.sentence()
    assert sentence.startswith("no model beat 'no change' on 2024-01-01..2024-12-31")
    assert sentence.endswith("serving the GARCH band around no change")


def test_the_empirical_band_replaces_garch_only_when_significantly_better() -> None:
    """It keeps GARCH on a tie and serves the empirical band when GARCH's is far too wide."""
    assert decide(baselines(garch_band=1.02), PERIOD).served == "garch"
    decision = decide(baselines(garch_band=3.0), PERIOD)
    assert decision.served == "persistence" and decision.baseline_p < 0.01
    assert "its interval score beat the GARCH band's" in decision.sentence()


def test_a_network_worse_at_long_horizons_is_not_served() -> None:
    """It refuses a network better at h = 1 and 7 but with a larger error at h = 14."""
    skill = {h: (0.3 if h <= 7 else -0.2) for h in range(1, 31)}
    cards = [
        scorecard("persistence", frame(horizon=30).pipe(_own_band, "persistence")),
        scorecard("garch", frame(horizon=30).pipe(_own_band, "garch")),
        scorecard("mlp", frame(horizon=30, skill=skill, band=0.8)),
    ]
    decision = decide(cards, PERIOD)
    assert decision.served == "garch"
    assert decision.reasons["mlp"].startswith("MAE") and "at h = 14" in decision.reasons["mlp"]


def test_a_network_with_a_worse_band_is_not_served() -> None:
    """It refuses a network with better medians when its interval score is worse."""
    wide = frame(skill=dict.fromkeys(range(1, 8), 0.3), band=3.0)
    decision = decide([*baselines(), scorecard("mlp", wide)], PERIOD)
    assert decision.served == "garch" and "interval score" in decision.reasons["mlp"]


def test_the_gate_needs_both_baselines() -> None:
    """It refuses to decide without both baselines among the candidates."""
    with pytest.raises(ValueError, match="both baselines"):
        decide([scorecard("mlp", frame())], PERIOD)


def _own_band(data: pd.DataFrame, kind: str) -> pd.DataFrame:
    return data.assign(low=data[f"{kind}_low"], high=data[f"{kind}_high"])


def test_the_selection_period_is_told_in_the_candles_clock() -> None:
    """It names whole days for daily periods and minutes for intraday ones."""
    from training_pipeline.periods import span_text

    assert span_text("2023-11-08T00:00:00+00:00", "2024-11-06T00:00:00+00:00") == (
        "2023-11-08..2024-11-06"
    )
    assert span_text("2025-08-10T13:21:00+00:00", "2025-08-10T23:59:00+00:00") == (
        "2025-08-10 13:21..2025-08-10 23:59"
    )
