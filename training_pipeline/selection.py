"""Gated selection: which candidate a run serves, decided on the selection period only.

The rule, on the selection period's walk-forward forecasts over every served horizon 1..H:
1. The best baseline is the GARCH band, unless the empirical-quantile band's interval score
   (Winkler, alpha = 0.2, each horizon's divided by the empirical band's mean there, averaged
   over horizons per origin) is significantly lower (one-sided Diebold-Mariano p < 0.10 with
   H - 1 lags). Both forecast "no change", so their point errors are equal. GARCH is the
   default because it did better in 15 pseudo-runs on years before any selection or test
   period (`benchmarks/baselines.py`: a next-year interval-score ratio to the empirical band of
   0.962, against 0.974 when the band with the better selection-year score was kept).
2. A network passes the gate only if its absolute errors are significantly smaller than no
   change's at h = 1 and h = 7 (one-sided Diebold-Mariano p < 0.10), its MAE is not larger at
   h = 14 and h = 30, and its mean interval-score ratio is not larger than the best baseline's.
3. Among the networks that pass, the lowest mean MAE ratio over 1..H is served; when none
   passes, the best baseline is served.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from training_pipeline import metrics as m
from training_pipeline.backtest import ratios
from training_pipeline.config import EVAL_HORIZONS
from training_pipeline.periods import span_text

GATE_P = 0.10
SIGNIFICANT_HORIZONS = (1, 7)
NOT_WORSE_HORIZONS = (14, 30)
BASELINE_WORDS = {
    "persistence": "no change with the empirical band of past moves",
    "garch": "the GARCH band around no change",
}


@dataclass(frozen=True)
class Scorecard:
    """One candidate's selection-period figures: per-horizon ratios and one-sided DM p-values."""

    kind: str
    table: pd.DataFrame  # horizon, mae_ratio, winkler_ratio (1..H)
    dm_p: dict[int, float]  # one-sided: p small when the candidate's errors are smaller
    interval_loss: np.ndarray  # per origin: interval scores / the empirical band's mean, over h
    empirical_loss: np.ndarray  # the same for the empirical band at those origins
    note: str | None = None  # what the fitting data did to the candidate, if worth saying

    @property
    def mae_ratio(self) -> float:
        return float(self.table["mae_ratio"].mean())

    @property
    def winkler_ratio(self) -> float:
        return float(self.table["winkler_ratio"].mean())

    def at(self, h: int, column: str) -> float | None:
        rows = self.table[self.table["horizon"] == h]
        return None if rows.empty else float(rows[column].iloc[0])

    def metrics(self) -> dict[str, float]:
        """The registry's selection metrics (`sel_` prefix)."""
        out = {"sel_mae_ratio": self.mae_ratio, "sel_winkler_ratio": self.winkler_ratio}
        for h in EVAL_HORIZONS:
            if (ratio := self.at(h, "mae_ratio")) is not None:
                out[f"sel_mae_ratio_h{h}"] = ratio
                out[f"sel_winkler_ratio_h{h}"] = self.at(h, "winkler_ratio")
                out[f"sel_dm_p_h{h}"] = self.dm_p[h]
        return out


def scorecard(kind: str, frame: pd.DataFrame, note: str | None = None) -> Scorecard:
    """Score one candidate's selection-period walk-forward frame."""
    dm_p, own, empirical = {}, [], []
    for h, rows in frame.sort_values("origin_time").groupby("horizon", sort=True):
        actual = rows["actual"].to_numpy()
        dm_p[int(h)] = m.diebold_mariano(
            rows["median"].to_numpy() - actual,
            rows["persistence"].to_numpy() - actual,
            int(h),
            alternative="less",
        )
        reference = interval_scores(actual, rows["persistence_low"], rows["persistence_high"])
        own.append(interval_scores(actual, rows["low"], rows["high"]) / reference.mean())
        empirical.append(reference / reference.mean())
    own_loss, empirical_loss = np.mean(own, axis=0), np.mean(empirical, axis=0)
    return Scorecard(kind, ratios(frame), dm_p, own_loss, empirical_loss, note)


def interval_scores(actual: np.ndarray, low: pd.Series, high: pd.Series) -> np.ndarray:
    """Each origin's interval score (the mean of these is `metrics.winkler`)."""
    low, high = low.to_numpy(), high.to_numpy()
    misses = np.maximum(low - actual, 0.0) + np.maximum(actual - high, 0.0)
    return high - low + (2.0 / m.ALPHA) * misses


@dataclass(frozen=True)
class Decision:
    """What a run serves and why, in figures and in one sentence."""

    served: str
    best_baseline: str
    period: tuple[str, str]
    reasons: dict[str, str] = field(default_factory=dict)  # per network: passed, or the rule failed
    baseline_p: float = 1.0  # one-sided DM p that the empirical band scores better than GARCH

    @property
    def serves_baseline(self) -> bool:
        return self.served in BASELINE_WORDS

    def sentence(self, refit_through: str | None = None) -> str:
        span = span_text(*self.period)
        why = "; ".join(f"{kind}: {reason}" for kind, reason in self.reasons.items())
        if self.serves_baseline:
            lead = f"no model beat 'no change' on {span} (the selection period)"
            band = BASELINE_WORDS[self.served]
            if self.served == "persistence":
                band += f" (its interval score beat the GARCH band's, DM p = {self.baseline_p:.3f})"
            return f"{lead}{f' ({why})' if why else ''}; serving {band}"
        refit = f", refit through {refit_through[:10]}" if refit_through else ""
        return (
            f"{self.served} beat 'no change' on {span} (the selection period): "
            f"{self.reasons[self.served]}; serving it{refit}"
        )


def decide(cards: list[Scorecard], period: tuple[str, str]) -> Decision:
    """Apply the gate (module docstring) to the candidates' selection scorecards."""
    by_kind = {c.kind: c for c in cards}
    if set(BASELINE_WORDS) - set(by_kind):
        raise ValueError(f"the gate needs both baselines {tuple(BASELINE_WORDS)} as candidates")
    garch = by_kind["garch"]
    baseline_p = m.diebold_mariano(
        garch.empirical_loss, garch.interval_loss, len(garch.table), alternative="less"
    )
    best = by_kind["persistence"] if baseline_p < GATE_P else garch
    reasons, passed = {}, []
    for card in cards:
        if card.kind in BASELINE_WORDS:
            continue
        failure = gate_failure(card, best)
        if failure and card.note:
            failure = f"{card.note}, so {failure}"
        reasons[card.kind] = failure or passed_words(card)
        if failure is None:
            passed.append(card)
    served = min(passed, key=lambda c: c.mae_ratio).kind if passed else best.kind
    return Decision(
        served=served,
        best_baseline=best.kind,
        period=period,
        reasons=reasons,
        baseline_p=baseline_p,
    )


def gate_failure(card: Scorecard, best: Scorecard) -> str | None:
    """The first rule a network breaks against the best baseline, in words; None if it passes."""
    for h in SIGNIFICANT_HORIZONS:
        ratio = card.at(h, "mae_ratio")
        if ratio is not None and not card.dm_p[h] < GATE_P:
            p = card.dm_p[h]
            return f"MAE {change_words(ratio)} at h = {h}, DM p = {p:.2f} (needs < {GATE_P})"
    for h in NOT_WORSE_HORIZONS:
        ratio = card.at(h, "mae_ratio")
        if ratio is not None and ratio > 1.0:
            return f"MAE {change_words(ratio)} at h = {h}"
    if card.winkler_ratio > best.winkler_ratio:
        return (
            f"interval score {card.winkler_ratio:.3f} of the empirical band's, "
            f"the {best.kind} band's {best.winkler_ratio:.3f}"
        )
    return None


def passed_words(card: Scorecard) -> str:
    parts = [
        f"MAE {change_words(card.at(h, 'mae_ratio'))} at h = {h} (DM p = {card.dm_p[h]:.3f})"
        for h in SIGNIFICANT_HORIZONS
        if card.at(h, "mae_ratio") is not None
    ]
    return ", ".join(parts) + f", interval score ratio {card.winkler_ratio:.3f}"


def change_words(ratio: float | None) -> str:
    """1.012 -> '1.2% higher', 0.97 -> '3.0% lower'."""
    if ratio is None or not np.isfinite(ratio):
        return "not comparable"
    if abs(ratio - 1.0) < 0.0005:
        return "equal"
    return f"{abs(ratio - 1.0):.1%} {'lower' if ratio < 1 else 'higher'}"
