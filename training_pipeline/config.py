"""Training run settings: split sizes, horizons, search space and budgets (keyword defaults)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from candlecast.errors import SettingsError

KINDS = ("mlp", "lstm")
QUANTILES = (0.1, 0.5, 0.9)  # every model forecasts these quantiles of the h-candle log return
# The horizons every registered model reports test-period metrics for.
EVAL_HORIZONS = (1, 3, 7, 14, 30)


@dataclass(frozen=True)
class TrainConfig:
    """How one training run splits the data, searches, selects and evaluates.

    From the end: `test_size` origins are the walk-forward test period (reported only),
    `selection_size` origins before it choose the served model, `val_size` origins before those
    are the fitting data's inner validation (early stopping, tuning, shrinkage, band calibration),
    and everything earlier trains the weights. A gap of `horizon` candles separates periods.
    The chosen network is refitted every `refit_every` test origins (0: frozen); `trail` origins
    of history set the baselines' bands.
    """

    horizon: int = 30
    val_size: int = 365
    selection_size: int = 365
    test_size: int = 365
    refit_every: int = 90
    trail: int = 365
    garch_span: int = 500
    models: tuple[str, ...] = KINDS
    windows: tuple[int, ...] = (14, 30, 60)
    max_layers: int = 2
    units: tuple[int, ...] = (16, 32, 64)
    max_dropout: float = 0.5
    learning_rates: tuple[float, float] = (3e-4, 3e-3)
    max_trials: int = 8
    epochs: int = 60
    patience: int = 8
    batch_size: int = 64
    tune_rows: int | None = 1500
    seed: int = 42
    calibrate: bool = True
    mixed_precision: bool = False  # float16 compute on a GPU; ignored on CPU

    def __post_init__(self) -> None:
        unknown = [k for k in self.models if k not in KINDS]
        if unknown or not self.models:
            raise SettingsError(
                f"unknown model kind(s) {unknown or self.models}; "
                f"use a comma-separated list of {', '.join(KINDS)}"
            )
        sizes = ("horizon", "val_size", "selection_size", "test_size", "max_trials", "epochs")
        for name in (*sizes, "batch_size", "trail", "garch_span"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.refit_every < 0:
            raise SettingsError(f"refit_every must be 0 (frozen) or more, got {self.refit_every}")
        if self.horizon < 7:
            raise SettingsError("horizon must be at least 7: the selection gate looks at h = 7")

    @property
    def max_window(self) -> int:
        return max(self.windows)

    def with_overrides(self, **changes: Any) -> TrainConfig:
        """A copy with the given fields replaced (None values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        """Every field as JSON values (tuples become lists): what a served version records."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> TrainConfig:
        """The config a `to_dict` record describes; fields it lacks take their defaults."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(record) - known)
        if unknown:
            raise SettingsError(
                f"the recorded training config has unknown field(s) {', '.join(unknown)}; "
                "it was written by another candlecast version: train again with `candlecast train`"
            )
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in record.items()})


DEFAULT = TrainConfig()

# A small, complete run for smoke tests and demos: one short trial per model on CPU.
QUICK = TrainConfig(
    windows=(30,),
    max_layers=1,
    units=(32,),
    max_trials=1,
    epochs=15,
    patience=4,
    tune_rows=None,
)


@dataclass(frozen=True)
class Architecture:
    """The hyperparameters the tuner searches and the final model is rebuilt from."""

    window: int = 30
    layers: int = 1
    units: int = 32
    dropout: float = 0.1
    learning_rate: float = 1e-3

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
