"""Serving models: resolve 'best' (the served version) or NAME[:VERSION], load once, reload."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pandas as pd

from candlecast.errors import ModelNotFound, SettingsError
from feature_store.base import ModelRegistry, ModelVersion, served_version

if TYPE_CHECKING:
    from training_pipeline.bundle import ModelBundle

logger = logging.getLogger(__name__)

# Per forecast step, besides the close: each future candle's high and low (median and 80% band,
# prices) and the calibrated P(close > last close); null where the model does not forecast them.
CANDLE_FIELDS = ("high_median", "high_q10", "high_q90", "low_median", "low_q10", "low_q90", "p_up")
BEST = "best"  # the version the newest training run of the series serves
RELOAD_EVERY = timedelta(minutes=3)
UNTRAINED = "untrained"  # the role of the baseline served to a series with no trained model
T = TypeVar("T")


@dataclass(frozen=True)
class ModelChoice:
    """What the user asked for: the best model, or one name with an optional version."""

    name: str | None = None
    version: int | None = None

    @property
    def is_best(self) -> bool:
        return self.name is None

    def __str__(self) -> str:
        if self.name is None:
            return BEST
        return self.name if self.version is None else f"{self.name}:{self.version}"


def parse_model_choice(text: str | None) -> ModelChoice:
    """Parse 'best' (or nothing), 'NAME' (its latest version) or 'NAME:VERSION'."""
    text = (text or "").strip()
    if not text or text.lower() == BEST:
        return ModelChoice()
    name, sep, version = text.rpartition(":")
    if not sep:
        return ModelChoice(text)
    if not name or not version.isdigit() or int(version) < 1:
        raise SettingsError(
            f"model {text!r} is not NAME or NAME:VERSION; use e.g. BTCUSDT-1d-mlp:3, "
            "BTCUSDT-1d-mlp (its latest version) or 'best'"
        )
    return ModelChoice(name, int(version))


@dataclass(frozen=True)
class LoadedModel:
    """A registered version and its loaded bundle."""

    version: ModelVersion
    bundle: ModelBundle

    @property
    def label(self) -> str:
        return f"{self.version.name}:{self.version.version}"

    @property
    def metrics(self) -> dict[str, float]:
        """The bundle's metrics, updated by what the registry holds for this version."""
        return {**self.bundle.metrics, **self.version.metrics}

    @property
    def role(self) -> str:
        """'served', 'candidate' or 'untrained' (the baseline of a series with no model)."""
        return str(self.version.metadata.get("role", "candidate"))

    @property
    def trained_until(self) -> datetime | None:
        """Open time of the last candle the model's fitting saw (None for the untrained one)."""
        value = self.bundle.data.get("trained_until")
        return pd.Timestamp(value).tz_convert("UTC").to_pydatetime() if value else None

    @property
    def decision(self) -> str | None:
        """Why the training run serves this version, in one sentence (served versions only)."""
        return self.version.metadata.get("decision")

    def backtest(self) -> pd.DataFrame:
        """The bundle's walk-forward test-period predictions (an empty frame when it has none)."""
        return self.bundle.backtest()


def candle_fields(row: Mapping[str, Any], last_close: float) -> dict[str, float | None]:
    """CANDLE_FIELDS of one `ModelBundle.predict` row: log quantiles over the close -> prices."""
    out: dict[str, float | None] = dict.fromkeys(CANDLE_FIELDS)
    for name in CANDLE_FIELDS[:-1]:
        value = row.get(name)
        if value is not None and math.isfinite(float(value)):
            out[name] = last_close * math.exp(float(value))
    p_up = row.get("p_up")
    if p_up is not None and math.isfinite(float(p_up)):
        out["p_up"] = float(p_up)
    return out


def load_bundle(path: Path) -> ModelBundle:
    """Load a bundle directory (a network's runtime is imported on its first forecast)."""
    from training_pipeline.bundle import ModelBundle

    return ModelBundle.load(path)


def untrained(symbol: str, interval: str) -> LoadedModel:
    """No change with the empirical band of past moves, for a series with no trained model."""
    from training_pipeline.bundle import untrained_baseline

    bundle = untrained_baseline(symbol, interval)
    version = ModelVersion(
        name=bundle.name,
        version=0,
        created=datetime.now(UTC),
        metrics={},
        metadata={"symbol": symbol, "interval": interval, "kind": bundle.kind, "role": UNTRAINED},
    )
    return LoadedModel(version, bundle)


class ModelLoader:
    """Loads each version once; asks the registry the same question at most every `reload_every`.

    Safe for parallel calls: one thread at a time asks a given question or loads a given version
    while the others asking the same wait for its answer; other questions and versions are not
    held up (a registry on S3 answers in network round trips).
    """

    def __init__(
        self,
        registry: ModelRegistry,
        *,
        reload_every: timedelta = RELOAD_EVERY,
        loader: Callable[[Path], Any] = load_bundle,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry
        self.reload_every = reload_every
        self._loader = loader
        self._monotonic = monotonic
        self._lock = threading.Lock()  # guards _keyed only
        self._keyed: dict[tuple[object, Any], threading.Lock] = {}
        self._loaded: dict[tuple[str, int], LoadedModel] = {}
        self._best: dict[tuple[str, str], tuple[float, ModelVersion | None]] = {}
        self._choices: dict[tuple[str, str], tuple[float, list[str]]] = {}
        self._named: dict[tuple[str, int | None], tuple[float, ModelVersion]] = {}

    def get(self, choice: ModelChoice, *, symbol: str, interval: str) -> LoadedModel:
        """The model for a series: the served one ('best'), or the one named.

        A series with no trained model is served the untrained baseline (`untrained`).
        """
        if not choice.is_best:
            return self._load(self._named_version(choice, symbol=symbol, interval=interval))
        version = self.best_version(symbol, interval)
        if version is None:
            return untrained(symbol, interval)
        return self._load(version)

    def best_version(self, symbol: str, interval: str) -> ModelVersion | None:
        """The served version of the series (None when none is registered), asked at most
        every reload_every."""
        key = (symbol, interval)

        def ask() -> ModelVersion | None:
            try:
                best = served_version(self.registry, symbol, interval)
            except ModelNotFound:
                return None
            cached = self._best.get(key)
            if (
                cached
                and cached[1]
                and (cached[1].name, cached[1].version)
                != (
                    best.name,
                    best.version,
                )
            ):
                logger.info(
                    "a newer served model for %s %s: %s:%s",
                    symbol,
                    interval,
                    best.name,
                    best.version,
                )
            return best

        return self._recent(self._best, key, ask)

    def choices(self, symbol: str, interval: str) -> list[str]:
        """'NAME:VERSION' of every version registered for the series, newest first.

        Listed at most every reload_every: on Hopsworks a listing downloads every version.
        """

        def ask() -> list[str]:
            versions = [
                v
                for v in self.registry.list()
                if v.metadata.get("symbol") == symbol and v.metadata.get("interval") == interval
            ]
            versions.sort(key=lambda v: (v.created, v.version), reverse=True)
            return [f"{v.name}:{v.version}" for v in versions]

        return list(self._recent(self._choices, (symbol, interval), ask))

    def _named_version(self, choice: ModelChoice, *, symbol: str, interval: str) -> ModelVersion:
        assert choice.name is not None
        name, number = choice.name, choice.version
        version = self._recent(self._named, (name, number), lambda: self.registry.get(name, number))
        trained_on = (version.metadata.get("symbol"), version.metadata.get("interval"))
        if trained_on != (symbol, interval):
            raise SettingsError(
                f"model {version.name}:{version.version} was trained on {trained_on[0]} "
                f"{trained_on[1]}, not {symbol} {interval}; pick a model of {symbol} {interval} "
                "or 'best'"
            )
        return version

    def _recent(self, cache: dict[Any, tuple[float, T]], key: Any, ask: Callable[[], T]) -> T:
        """The cached answer for `key` while younger than reload_every, else `ask()` again."""
        with self._lock_of(id(cache), key):
            now = self._monotonic()
            cached = cache.get(key)
            if cached and now - cached[0] < self.reload_every.total_seconds():
                return cached[1]
            answer = ask()
            cache[key] = (now, answer)
            return answer

    def _lock_of(self, kind: object, key: Any) -> threading.Lock:
        with self._lock:
            return self._keyed.setdefault((kind, key), threading.Lock())

    def _load(self, version: ModelVersion) -> LoadedModel:
        key = (version.name, version.version)
        with self._lock_of("load", key):
            if key not in self._loaded:
                if version.path is None:
                    raise ModelNotFound(
                        f"model {version.name}:{version.version} has no local bundle directory; "
                        "register it again with `candlecast train`"
                    )
                started = time.perf_counter()
                bundle = self._loader(Path(version.path))
                logger.info(
                    "loaded %s:%s in %.2fs",
                    version.name,
                    version.version,
                    time.perf_counter() - started,
                )
                self._loaded[key] = LoadedModel(version, bundle)
            return self._loaded[key]
