"""keras-tuner search over window length, layers, units, dropout and learning rate."""

from __future__ import annotations

import logging
import tempfile
from typing import Any

import keras
import keras_tuner as kt
import numpy as np
from tqdm.auto import tqdm

from training_pipeline.config import Architecture, TrainConfig
from training_pipeline.fit import fit_on
from training_pipeline.models import build_model
from training_pipeline.training_set import TrainingSet

logger = logging.getLogger(__name__)


def architecture(hp: kt.HyperParameters, config: TrainConfig) -> Architecture:
    """Declare the search space on `hp` and read the current trial's values."""
    return Architecture(
        window=hp.Choice("window", list(config.windows)),
        layers=hp.Int("layers", 1, config.max_layers),
        units=hp.Choice("units", list(config.units)),
        dropout=hp.Float("dropout", 0.0, config.max_dropout, step=0.1, default=0.1),
        learning_rate=hp.Float(
            "learning_rate", *config.learning_rates, sampling="log", default=1e-3
        ),
    )


class WindowHyperModel(kt.HyperModel):
    """Builds a model per trial and cuts the windows its window length needs."""

    def __init__(self, kind: str, data: TrainingSet, config: TrainConfig) -> None:
        super().__init__(name=kind)
        self.kind, self.data, self.config = kind, data, config

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        arch = architecture(hp, self.config)
        return build_model(
            self.kind, arch, n_features=self.data.n_features, horizon=self.data.horizon
        )

    def fit(self, hp: kt.HyperParameters, model: keras.Model, *args: Any, **kwargs: Any) -> Any:
        origins = tuning_origins(self.data, self.config)
        callbacks = kwargs.get("callbacks", [])
        return fit_on(model, self.data, origins, hp.get("window"), self.config, callbacks)


class _Tuner(kt.BayesianOptimization):
    """Bayesian optimisation that advances a progress bar after each trial."""

    def __init__(self, *args: Any, bar: tqdm, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bar = bar

    def on_trial_end(self, trial: Any) -> None:
        super().on_trial_end(trial)
        self.bar.update(1)


def tuning_origins(data: TrainingSet, config: TrainConfig) -> np.ndarray:
    """The tuning subset: the most recent `tune_rows` fitting origins (all when None)."""
    return data.fit if config.tune_rows is None else data.fit[-config.tune_rows :]


def default_architecture(config: TrainConfig) -> Architecture:
    """The search space's default point: what a one-trial search would train."""
    return architecture(kt.HyperParameters(), config)


def tune(
    kind: str, data: TrainingSet, config: TrainConfig, *, progress: bool = True
) -> tuple[Architecture, dict[str, Any]]:
    """Search the space with seeded Bayesian optimisation on the inner validation loss.

    One trial would only train the space's default point, which the final fit trains anyway,
    so a one-trial budget skips the search. The tuner's state lives in a temporary directory
    that is removed afterwards.
    """
    if config.max_trials == 1:
        arch = default_architecture(config)
        return arch, arch.to_dict()
    keras.utils.set_random_seed(config.seed)
    with (
        tempfile.TemporaryDirectory(prefix="candlecast-tuner-") as workdir,
        tqdm(total=config.max_trials, desc=f"tuning {kind}", disable=not progress) as bar,
    ):
        tuner = _Tuner(
            WindowHyperModel(kind, data, config),
            objective="val_loss",
            max_trials=config.max_trials,
            seed=config.seed,
            directory=workdir,
            project_name=kind,
            overwrite=True,
            bar=bar,
        )
        tuner.search(verbose=0)
        best = tuner.get_best_hyperparameters(1)[0].values
    arch = Architecture(**{k: best[k] for k in Architecture.__dataclass_fields__})
    logger.info("best %s hyperparameters: %s", kind, best)
    return arch, dict(best)
