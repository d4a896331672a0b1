"""The input scaler: per-column standardisation fitted on the fitting rows only."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Scaler:
    """Per-column standardisation whose mean and scale come from the training split only."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]

    @classmethod
    def fit(cls, values: np.ndarray) -> Scaler:
        values = np.asarray(values, dtype=np.float64)
        scale = values.std(axis=0)
        scale = np.where(scale > 1e-12, scale, 1.0)
        return cls(tuple(values.mean(axis=0).tolist()), tuple(scale.tolist()))

    def transform(self, values: np.ndarray) -> np.ndarray:
        return ((np.asarray(values, dtype=np.float64) - self.mean) / self.scale).astype(np.float32)

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": list(self.mean), "scale": list(self.scale)}

    @classmethod
    def from_dict(cls, data: dict[str, list[float]]) -> Scaler:
        return cls(tuple(data["mean"]), tuple(data["scale"]))


def fit_scaler(frame: pd.DataFrame, columns: tuple[str, ...], train_origins: np.ndarray) -> Scaler:
    """Fit the input scaler on the rows up to the last training origin, nothing later."""
    rows = frame[list(columns)].to_numpy(dtype=np.float64)[: int(train_origins[-1]) + 1]
    return Scaler.fit(rows)
