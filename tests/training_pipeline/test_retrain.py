"""Scheduled retraining: the age limit, the plan per series, the refit and what the app serves."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from synthetic_series import random_walk_features

from candlecast.errors import SettingsError
from candlecast.settings import Settings
from feature_pipeline.groups import FEATURES
from feature_store.base import ModelVersion, served_version
from feature_store.local import LocalFeatureStore
from feature_store.local_registry import LocalModelRegistry
from inference_app.forecaster import Forecaster
from inference_app.serving import RELOAD_EVERY, ModelLoader
from training_pipeline.config import DEFAULT, QUICK, TrainConfig
from training_pipeline.retrain import (
    NONE,
    REFIT,
    Health,
    age_words,
    carry_out,
    parse_age,
    plan,
    plan_series,
    retrain,
)

# A tiny training run (one short MLP fit, no walk-forward refits): the run a refit repeats.
FAST = TrainConfig(
    horizon=7,
    val_size=120,
    selection_size=120,
    test_size=120,
    refit_every=0,
    trail=100,
    garch_span=200,
    models=("mlp",),
    windows=(5,),
    max_layers=1,
    units=(16,),
    learning_rates=(5e-3, 1e-2),
    max_trials=1,
    epochs=2,
    patience=5,
    tune_rows=None,
)
SYMBOL, INTERVAL = "SYNTHUSDT", "1d"
TRAINED_ROWS = 1000  # the first training run sees these rows; 100 more arrive after it
NOW = datetime(2023, 1, 5, 12, tzinfo=UTC)  # after the 1,100th candle (2023-01-04) closed
HEALTHY = Health(note="3 of the 30 scored h = 1 live forecasts the rule needs")


def healthy(symbol: str, interval: str, served: ModelVersion) -> Health:
    return HEALTHY


def degraded(symbol: str, interval: str, served: ModelVersion) -> Health:
    return Health(("MAE ratio 1.210 > 1.05 over the last 30 h = 1 forecasts",))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", timedelta(days=30)),
        ("12h", timedelta(hours=12)),
        ("2w", timedelta(weeks=2)),
        ("90m", timedelta(minutes=90)),
        (" 7D ", timedelta(days=7)),
        ("0d", timedelta(0)),
    ],
)
def test_an_age_is_a_whole_number_and_a_unit(text: str, expected: timedelta) -> None:
    """It reads minutes, hours, days and weeks."""
    assert parse_age(text) == expected


@pytest.mark.parametrize("text", ["30", "d", "-1d", "1.5d", "30 days", "", "3y"])
def test_a_malformed_age_is_refused_with_the_accepted_forms(text: str) -> None:
    """It names the value and what it should look like."""
    with pytest.raises(SettingsError, match=r"is not an age; use a whole number and a unit"):
        parse_age(text)


def test_ages_read_as_words() -> None:
    """It writes days, hours or minutes, whichever is largest, with one decimal at most."""
    assert age_words(timedelta(days=36)) == "36 days"
    assert age_words(timedelta(days=1)) == "1 day"
    assert age_words(timedelta(hours=36)) == "1.5 days"
    assert age_words(timedelta(hours=12)) == "12 hours"
    assert age_words(timedelta(minutes=1)) == "1 minute"


def test_the_training_config_round_trips_through_json() -> None:
    """It rebuilds every config from its record, and refuses fields it does not know."""
    for config in (DEFAULT, QUICK, FAST):
        assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    with pytest.raises(SettingsError, match="unknown field.* window_size"):
        TrainConfig.from_dict({**FAST.to_dict(), "window_size": 3})


def version(trained_until: str, config: TrainConfig | None = FAST) -> ModelVersion:
    metadata = {"symbol": SYMBOL, "interval": INTERVAL, "kind": "garch", "role": "served"}
    metadata["trained_until"] = trained_until
    if config is not None:
        metadata["config"] = config.to_dict()
    return ModelVersion("synthusdt-1d-garch", 3, NOW, {"served_at": 1.0}, metadata)


def decide(served: ModelVersion | None, health: Health | None = HEALTHY, **options):
    values = {
        "symbol": SYMBOL,
        "interval": INTERVAL,
        "now": NOW,
        "max_age": timedelta(days=30),
        "last_candle": datetime(2023, 1, 4, tzinfo=UTC),
        "health": health,
        **options,
    }
    return plan(served, **values)


def test_a_fresh_healthy_model_is_left_alone_with_the_reason() -> None:
    """It does nothing for a model fitted through the day before, and says why in one line."""
    planned = decide(version("2023-01-03T00:00:00+00:00"))
    assert planned.action == NONE and planned.config is None
    assert planned.reason == (
        "synthusdt-1d-garch v3 fitted through 2023-01-03, 1.5 days old (limit 30 days); "
        "live monitor: no verdict yet (3 of the 30 scored h = 1 live forecasts the rule "
        "needs): nothing to do"
    )


def test_a_model_older_than_the_limit_is_refitted_with_its_recorded_config() -> None:
    """It refits a model whose fitting data ended more than max_age ago, with the config it
    was trained with."""
    planned = decide(version("2022-11-30T00:00:00+00:00"))
    assert (planned.action, planned.config) == (REFIT, FAST)
    assert "35.5 days old (limit 30 days)" in planned.reason
    assert planned.reason.endswith(": refit with its recorded configuration")


def test_a_degraded_model_is_refitted_however_young() -> None:
    """It refits when the live monitor flags the served version, naming the rule it broke."""
    planned = decide(version("2023-01-03T00:00:00+00:00"), Health(("coverage 40% < 65%",)))
    assert (planned.action, planned.config) == (REFIT, FAST)
    assert "live monitor: degraded (coverage 40% < 65%)" in planned.reason


def test_a_series_without_a_served_model_is_trained_with_the_default_config() -> None:
    """It trains a series that has features but no model yet."""
    planned = decide(None, None)
    assert (planned.action, planned.config) == (REFIT, DEFAULT)
    assert planned.reason.startswith("no model is served for SYNTHUSDT 1d yet")
    assert decide(None, None, fallback=FAST).config == FAST


def test_a_version_without_a_recorded_config_is_refitted_with_the_default() -> None:
    """It falls back to the default config for versions registered before configs were recorded."""
    planned = decide(version("2022-11-30T00:00:00+00:00", config=None))
    assert (planned.action, planned.config) == (REFIT, DEFAULT)
    assert "the default configuration (none recorded)" in planned.reason


def test_an_unreadable_recorded_config_is_an_error_of_that_series() -> None:
    """It reports a config record from another version as the series' error, not a crash."""
    served = version("2022-11-30T00:00:00+00:00")
    served.metadata["config"]["window_size"] = 3
    planned = decide(served)
    assert planned.action == NONE and "unknown field(s) window_size" in planned.error


def test_no_new_candle_means_nothing_to_learn() -> None:
    """It does not refit an old model when the features end where its fitting data ended."""
    planned = decide(version("2023-01-04T00:00:00+00:00"), now=NOW + timedelta(days=60))
    assert planned.action == NONE
    assert "no candle has closed since it was fitted" in planned.reason
    assert "`candlecast daily`" in planned.reason


def test_a_series_without_features_is_an_error_that_names_the_backfill() -> None:
    """It reports the missing features as an error, so the run fails visibly."""
    planned = decide(None, None, last_candle=None)
    assert planned.action == NONE
    assert "`candlecast backfill --symbols SYNTHUSDT --interval 1d`" in planned.error


@pytest.fixture(scope="module")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home whose SYNTHUSDT model was trained (FAST) on the first 1,000 candles, with 100
    more stored since: its fitting data ended 100 days before NOW."""
    from training_pipeline.run import run

    home = tmp_path_factory.mktemp("retrain-home")
    store = LocalFeatureStore(str(home / "store"))
    store.ensure(FEATURES)
    rows = random_walk_features()
    store.upsert(FEATURES, rows.iloc[:TRAINED_ROWS])
    settings = Settings(home=home, symbols=(SYMBOL,), now=NOW - timedelta(days=100))
    run(settings, store, LocalModelRegistry(home / "registry"), config=FAST, progress=False)
    store.upsert(FEATURES, rows)
    return home


@pytest.fixture
def home(trained_home: Path, tmp_path: Path) -> Path:
    """A copy of the trained home that the test may change."""
    return Path(shutil.copytree(trained_home, tmp_path / "home"))


def opened(home: Path, now: datetime = NOW):
    settings = Settings(home=home, symbols=(SYMBOL,), now=now)
    return settings, LocalFeatureStore(str(home / "store")), LocalModelRegistry(home / "registry")


def files(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")}


def test_a_fresh_model_is_left_alone_and_nothing_is_written(home: Path) -> None:
    """It plans nothing within the limit and leaves the registry and the store as they were."""
    settings, store, registry = opened(home)
    before = files(home)
    (outcome,) = retrain(settings, store, registry, max_age=timedelta(days=200), health=healthy)
    assert (outcome.plan.action, outcome.new, outcome.ok) == (NONE, None, True)
    assert "100.5 days old (limit 200 days)" in outcome.plan.reason
    assert outcome.plan.reason.endswith(": nothing to do")
    assert files(home) == before


def test_an_old_model_is_refitted_and_the_app_serves_it_after_its_reload_period(
    home: Path,
) -> None:
    """It registers a new served version fitted through the last candle with the recorded
    config; the app's model loader keeps the old one until its reload period has passed; a
    retrain right after finds the new one fresh and writes nothing."""
    settings, store, registry = opened(home)
    old = served_version(registry, SYMBOL, INTERVAL)
    clock = [1000.0]
    loader = ModelLoader(registry, monotonic=lambda: clock[0])
    assert loader.best_version(SYMBOL, INTERVAL) == old

    (outcome,) = retrain(settings, store, registry, max_age=timedelta(days=30), health=healthy)
    assert (outcome.plan.action, outcome.ok) == (REFIT, True), outcome.error
    new = served_version(registry, SYMBOL, INTERVAL)
    assert outcome.new == new and new.metadata["role"] == "served"
    assert (new.created, new.metrics["served_at"]) > (old.created, old.metrics["served_at"])
    assert pd.Timestamp(new.metadata["trained_until"]) == pd.Timestamp("2023-01-04", tz="UTC")
    assert TrainConfig.from_dict(new.metadata["config"]) == FAST
    assert new.metadata["retrain"] == outcome.plan.reason

    clock[0] += RELOAD_EVERY.total_seconds() - 1
    assert loader.best_version(SYMBOL, INTERVAL) == old  # within the reload period
    clock[0] += 1
    assert loader.best_version(SYMBOL, INTERVAL) == new
    forecaster = Forecaster(settings, store=store, registry=registry, reload_every=timedelta(0))
    served = forecaster.forecast(SYMBOL, 7).model
    assert (served.name, served.version) == (new.name, new.version)

    before = files(home)
    (again,) = retrain(settings, store, registry, max_age=timedelta(days=30), health=healthy)
    assert again.plan.action == NONE and "12 hours old" in again.plan.reason
    assert files(home) == before


def test_a_degraded_model_is_refitted_within_the_age_limit(home: Path) -> None:
    """It refits when the monitor flags the served version, though the age is within limits."""
    settings, store, registry = opened(home)
    old = served_version(registry, SYMBOL, INTERVAL)
    planned = plan_series(
        store, registry, SYMBOL, INTERVAL, now=NOW, max_age=timedelta(days=200), health=degraded
    )
    assert planned.action == REFIT and "live monitor: degraded (MAE ratio 1.210" in planned.reason
    dry = carry_out(settings, store, registry, planned, dry_run=True)
    assert (dry.new, dry.dry_run, served_version(registry, SYMBOL, INTERVAL)) == (None, True, old)
    outcome = carry_out(settings, store, registry, planned)
    assert outcome.ok, outcome.error
    assert served_version(registry, SYMBOL, INTERVAL).version == outcome.new.version
    assert outcome.new.metadata["retrain"] == planned.reason


def test_a_failed_refit_is_reported_and_the_served_version_kept(home: Path) -> None:
    """It reports a refit that cannot run (too little history for the periods) as an error,
    without raising, and serves what it served before."""
    settings, store, registry = opened(home)
    old = served_version(registry, SYMBOL, INTERVAL)
    huge = replace(FAST, test_size=5000)
    planned = replace(
        plan_series(
            store, registry, SYMBOL, INTERVAL, now=NOW, max_age=timedelta(0), health=healthy
        ),
        config=huge,
    )
    outcome = carry_out(settings, store, registry, planned)
    assert not outcome.ok and outcome.new is None
    assert "Traceback" not in outcome.error and outcome.to_dict()["ok"] is False
    assert served_version(registry, SYMBOL, INTERVAL) == old
