"""The ModelRegistry contract, run against every adapter in store_adapters.REGISTRIES."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time
from pathlib import Path

import pytest
from process_workers import register_and_die, register_copies
from store_adapters import MULTI_PROCESS, REGISTRIES

from candlecast.errors import ModelNotFound, ValidationError
from feature_store.base import ModelRegistry

SPAWN = multiprocessing.get_context("spawn")


def _model_dir(folder: Path, payload: str = "weights") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.keras").write_text(payload)
    (folder / "scaler").mkdir(exist_ok=True)
    (folder / "scaler" / "scaler.json").write_text(json.dumps({"mean": [1.0]}))
    return folder


def test_it_registers_numbered_versions_with_a_copy_of_the_bundle(
    registry: ModelRegistry, tmp_path: Path
) -> None:
    """It stores a copy of the directory with metrics and metadata under versions 1, 2, ..."""
    source = _model_dir(tmp_path / "bundle", "v1")
    first = registry.register("lstm", source, {"mae": 1.5}, {"symbol": "BTCUSDT"})
    (source / "model.keras").write_text("v2")
    second = registry.register("lstm", source, {"mae": 1.2})
    assert (first.version, second.version) == (1, 2)
    assert first.metrics == {"mae": 1.5}
    assert first.metadata == {"symbol": "BTCUSDT"}
    assert first.created.tzinfo is not None
    loaded = registry.get("lstm", 1)
    assert loaded.path is not None and (loaded.path / "model.keras").read_text() == "v1"
    assert (loaded.path / "scaler" / "scaler.json").exists()
    assert registry.get("lstm").version == 2
    assert [(v.name, v.version) for v in registry.list("lstm")] == [("lstm", 1), ("lstm", 2)]


def test_it_lists_every_model(registry: ModelRegistry, tmp_path: Path) -> None:
    """It lists versions of all names, and of one name on request."""
    source = _model_dir(tmp_path / "bundle")
    registry.register("mlp", source, {"mae": 1.0})
    registry.register("lstm", source, {"mae": 2.0})
    assert {v.name for v in registry.list()} == {"mlp", "lstm"}
    assert [v.name for v in registry.list("mlp")] == ["mlp"]
    assert registry.list("nothing") == []


def test_it_picks_the_best_version_per_series(registry: ModelRegistry, tmp_path: Path) -> None:
    """It returns the version with the best metric among those whose metadata matches."""
    source = _model_dir(tmp_path / "bundle")
    rows = [
        ("mlp", 0.9, "BTCUSDT"),
        ("lstm", 0.8, "BTCUSDT"),
        ("lstm", 0.7, "ETHUSDT"),
        ("mlp", 0.95, "BTCUSDT"),
    ]
    for name, score, symbol in rows:
        registry.register(
            name,
            source,
            {"score": score, "acc": 1 - score},
            {
                "symbol": symbol,
                "interval": "1d",
            },
        )
    btc = registry.best("score", direction="min", where={"symbol": "BTCUSDT", "interval": "1d"})
    assert (btc.name, btc.metrics["score"]) == ("lstm", 0.8)
    assert registry.best("score", direction="min").metadata["symbol"] == "ETHUSDT"
    assert registry.best("acc", direction="max").metrics["acc"] == pytest.approx(0.3)
    with pytest.raises(ModelNotFound, match="candlecast train"):
        registry.best("score", where={"symbol": "XRPUSDT", "interval": "1d"})
    with pytest.raises(ModelNotFound):
        registry.best("no_such_metric")


def test_it_raises_model_not_found(registry: ModelRegistry, tmp_path: Path) -> None:
    """It says what to do when a model or version does not exist."""
    with pytest.raises(ModelNotFound, match="candlecast train"):
        registry.get("lstm")
    registry.register("lstm", _model_dir(tmp_path / "bundle"), {"mae": 1.0})
    with pytest.raises(ModelNotFound, match="no version 7"):
        registry.get("lstm", 7)


def test_it_rejects_bad_names_and_metrics(registry: ModelRegistry, tmp_path: Path) -> None:
    """It refuses names that are not folder-safe and metrics that are not numbers."""
    source = _model_dir(tmp_path / "bundle")
    with pytest.raises(ValidationError, match="not allowed"):
        registry.register("../escape", source, {"mae": 1.0})
    with pytest.raises(ValidationError, match="not a number"):
        registry.register("lstm", source, {"mae": "good"})
    assert registry.list() == []


@pytest.fixture
def multi_process_registry(registry_name: str) -> str:
    if registry_name not in MULTI_PROCESS:
        pytest.fail(f"{registry_name} is not in MULTI_PROCESS; add it or give it its own test")
    return registry_name


@pytest.mark.slow
def test_concurrent_registrations_never_collide(
    multi_process_registry: str, tmp_path: Path
) -> None:
    """It gives every registration from several processes its own complete version."""
    source = _model_dir(tmp_path / "bundle")
    workers = [
        SPAWN.Process(
            target=register_copies,
            args=(multi_process_registry, tmp_path, source, 5, f"w{i}"),
        )
        for i in range(3)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    versions = REGISTRIES[multi_process_registry](tmp_path).list("shared")
    assert sorted(v.version for v in versions) == list(range(1, 16))
    seen = {(v.metadata["writer"], v.metadata["i"]) for v in versions}
    assert seen == {(f"w{w}", i) for w in range(3) for i in range(5)}
    assert all((v.path / "model.keras").read_text() == "weights" for v in versions)


@pytest.mark.slow
def test_a_crash_mid_copy_leaves_no_visible_version(
    multi_process_registry: str, tmp_path: Path
) -> None:
    """It never shows a half-registered version when the registering process is killed."""
    registry = REGISTRIES[multi_process_registry](tmp_path)
    registry.register("crashy", _model_dir(tmp_path / "good"), {"score": 0.5})
    source = _model_dir(tmp_path / "bundle")
    for i in range(6):
        (source / f"shard_{i}.bin").write_bytes(os.urandom(10_000))
    worker = SPAWN.Process(
        target=register_and_die, args=(multi_process_registry, tmp_path, source, 4)
    )
    worker.start()
    worker.join(60)
    assert worker.exitcode == -signal.SIGKILL
    assert [v.version for v in registry.list("crashy")] == [1]
    assert registry.get("crashy").metrics == {"score": 0.5}
    again = registry.register("crashy", source, {"score": 0.1})
    assert (again.path / "shard_5.bin").read_bytes() == (source / "shard_5.bin").read_bytes()
    assert [v.version for v in registry.list("crashy")] == [1, again.version]


def test_local_registry_sweeps_staging_left_by_old_crashes(tmp_path: Path) -> None:
    """It removes day-old staging folders of crashed registrations and keeps recent ones."""
    from feature_store.local_registry import LocalModelRegistry

    registry = LocalModelRegistry(tmp_path / "registry")
    folder = tmp_path / "registry" / "lstm"
    old, recent = folder / ".staging-old", folder / ".staging-recent"
    for leftover in (old, recent):
        (leftover / "part").mkdir(parents=True)
    os.utime(old, (time.time() - 2 * 86400, time.time() - 2 * 86400))
    registry.register("lstm", _model_dir(tmp_path / "bundle"), {"mae": 1.0})
    assert not old.exists() and recent.exists()
    assert [v.version for v in registry.list("lstm")] == [1]


def test_the_served_version_is_the_newest_runs(registry: ModelRegistry, tmp_path: Path) -> None:
    """It serves the version registered with the latest run time, whatever its other metrics."""
    from feature_store.base import SERVED_METRIC, served_version

    source = _model_dir(tmp_path / "bundle")
    series = {"symbol": "BTCUSDT", "interval": "1d"}
    registry.register("mlp", source, {"sel_mae_ratio": 0.9, SERVED_METRIC: 100.0}, series)
    registry.register("garch", source, {"sel_mae_ratio": 1.0, SERVED_METRIC: 200.0}, series)
    registry.register("lstm", source, {"sel_mae_ratio": 0.8}, series)  # a candidate, not served
    assert served_version(registry, "BTCUSDT", "1d").name == "garch"
    with pytest.raises(ModelNotFound):
        served_version(registry, "ETHUSDT", "1d")
