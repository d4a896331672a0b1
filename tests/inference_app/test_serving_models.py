"""Model resolution for serving: 'best' (served) or NAME[:VERSION], loaded once, reloaded."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from app_world import MLP, PERSISTENCE, AppWorld

from candlecast.errors import SettingsError
from feature_store.base import SERVED_METRIC
from feature_store.local_registry import LocalModelRegistry
from inference_app.serving import ModelChoice, ModelLoader, load_bundle, parse_model_choice


@pytest.mark.parametrize(
    ("text", "choice"),
    [
        (None, ModelChoice()),
        ("", ModelChoice()),
        (" Best ", ModelChoice()),
        ("btcusdt-1d-mlp", ModelChoice("btcusdt-1d-mlp")),
        ("btcusdt-1d-mlp:12", ModelChoice("btcusdt-1d-mlp", 12)),
    ],
)
def test_parse_model_choice(text: str | None, choice: ModelChoice) -> None:
    """It reads 'best', NAME and NAME:VERSION."""
    assert parse_model_choice(text) == choice
    assert parse_model_choice(str(choice)) == choice


@pytest.mark.parametrize("text", ["mlp:", ":3", "mlp:0", "mlp:v2", "mlp:-1"])
def test_malformed_model_choices_are_refused(text: str) -> None:
    """It names the accepted forms when a choice is malformed."""
    with pytest.raises(SettingsError, match="NAME:VERSION"):
        parse_model_choice(text)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def registry(world: AppWorld, tmp_path: Path) -> LocalModelRegistry:
    """A private copy of the session's registry, free to change."""
    shutil.copytree(world.settings.registry_location, tmp_path / "registry")
    return LocalModelRegistry(tmp_path / "registry")


def test_a_newer_served_model_is_picked_up_after_the_reload_period(
    registry: LocalModelRegistry, tmp_path: Path
) -> None:
    """It keeps the cached served model and list until reload_every has passed, then the new."""
    loads: list[Path] = []
    clock = Clock()

    def counting_loader(path: Path):
        loads.append(path)
        return load_bundle(path)

    loader = ModelLoader(
        registry, reload_every=timedelta(minutes=3), loader=counting_loader, monotonic=clock
    )
    before = loader.get(ModelChoice(), symbol="BTCUSDT", interval="1d")
    listed = loader.choices("BTCUSDT", "1d")
    old = registry.get(PERSISTENCE, 1)
    bundle_dir = tmp_path / "bundle"
    shutil.copytree(old.path, bundle_dir, ignore=shutil.ignore_patterns("version.json"))
    served_at = before.version.metrics[SERVED_METRIC] + 60  # a later training run
    newer = registry.register(
        PERSISTENCE,
        bundle_dir,
        metrics={**old.metrics, SERVED_METRIC: served_at},
        metadata={**old.metadata, "role": "served"},
    )

    clock.now += 179
    assert loader.get(ModelChoice(), symbol="BTCUSDT", interval="1d") is before
    assert loader.choices("BTCUSDT", "1d") == listed
    clock.now += 2
    after = loader.get(ModelChoice(), symbol="BTCUSDT", interval="1d")
    assert (after.version.name, after.version.version) == (newer.name, newer.version)
    assert len(loads) == 2  # each version loaded once
    assert loader.choices("BTCUSDT", "1d")[0] == f"{PERSISTENCE}:{newer.version}"


def test_each_version_is_loaded_once(registry: LocalModelRegistry) -> None:
    """It returns the same loaded bundle for repeated requests of one version."""
    loads: list[Path] = []
    loader = ModelLoader(registry, loader=lambda p: loads.append(p) or load_bundle(p))
    first = loader.get(ModelChoice(MLP, 1), symbol="BTCUSDT", interval="1d")
    again = loader.get(ModelChoice(MLP), symbol="BTCUSDT", interval="1d")
    assert first is again and len(loads) == 1


def test_choices_list_the_series_versions_newest_first(registry: LocalModelRegistry) -> None:
    """It offers every registered version of the series' models, and none of other series."""
    loader = ModelLoader(registry)
    choices = loader.choices("BTCUSDT", "1d")
    assert {f"{MLP}:1", f"{PERSISTENCE}:1", "btcusdt-1d-garch:1"} <= set(choices)
    assert sorted(choices) == sorted(f"{v.name}:{v.version}" for v in registry.list())
    assert loader.choices("ETHUSDT", "1d") == []


def test_a_series_without_a_model_is_served_the_untrained_baseline(
    registry: LocalModelRegistry,
) -> None:
    """It serves no change with the empirical band, labelled untrained, when nothing is trained."""
    loaded = ModelLoader(registry).get(ModelChoice(), symbol="ETHUSDT", interval="1d")
    assert loaded.role == "untrained" and loaded.bundle.kind == "persistence"
    assert loaded.trained_until is None and loaded.version.version == 0
