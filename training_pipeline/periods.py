"""The periods of a training run, each with one role: train | val | selection | test."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from candlecast.errors import ValidationError

# What each period is for; no period has two roles.
ROLES = {
    "train": "fitting the weights (and the scalers)",
    "val": "inner validation at the end of the fitting data: early stopping, tuning, "
    "shrinkage and band calibration",
    "selection": "choosing the served model (nothing is fitted, tuned or calibrated on it)",
    "test": "reporting only",
}


@dataclass(frozen=True)
class Splits:
    """Forecast origins (row positions) of the time-ordered train / val / selection / test periods.

    `train` and `val` are the fitting data (val is its inner validation); `selection` chooses
    the served model; `test` is only reported. A gap of `horizon` rows sits between periods, so
    the labels of one period never reach a candle of the next.
    """

    train: np.ndarray
    val: np.ndarray
    selection: np.ndarray
    test: np.ndarray
    horizon: int

    def periods(self) -> dict[str, np.ndarray]:
        return {
            "train": self.train,
            "val": self.val,
            "selection": self.selection,
            "test": self.test,
        }

    def describe(self, open_time: pd.Series) -> dict[str, list[str]]:
        """First and last origin time of each period."""
        return {
            name: [_iso(open_time.iloc[idx[0]]), _iso(open_time.iloc[idx[-1]])]
            for name, idx in self.periods().items()
        }


def make_splits(
    rows: int,
    *,
    horizon: int,
    val_size: int,
    selection_size: int,
    test_size: int,
    first_origin: int = 0,
) -> Splits:
    """Split origins into train / val / selection / test, the last labelled ones being test."""
    last = rows - horizon - 1  # the last origin whose labels are all known
    test_start = last - test_size + 1
    selection_end = test_start - horizon - 1
    selection_start = selection_end - selection_size + 1
    val_end = selection_start - horizon - 1
    val_start = val_end - val_size + 1
    train_end = val_start - horizon - 1
    if train_end - first_origin + 1 < max(2 * horizon, 50):
        raise ValidationError(
            f"{rows} rows are too few for {val_size} validation, {selection_size} selection and "
            f"{test_size} test origins with horizon {horizon}; backfill more history or pass "
            "smaller sizes (candlecast train --val-origins N --selection-origins N "
            "--test-origins N)"
        )
    return Splits(
        train=np.arange(first_origin, train_end + 1),
        val=np.arange(val_start, val_end + 1),
        selection=np.arange(selection_start, selection_end + 1),
        test=np.arange(test_start, last + 1),
        horizon=horizon,
    )


def span_text(first: Any, last: Any) -> str:
    """'2024-11-07..2025-11-06' for spans of whole days, '2025-08-10 13:21..2025-08-10 23:59'
    for spans that start or end inside a day (intraday candles)."""
    start, end = pd.Timestamp(first), pd.Timestamp(last)
    whole_days = start == start.normalize() and end == end.normalize()
    form = "%Y-%m-%d" if whole_days else "%Y-%m-%d %H:%M"
    return f"{start:{form}}..{end:{form}}"


def _iso(value: Any) -> str:
    return pd.Timestamp(value).isoformat()
