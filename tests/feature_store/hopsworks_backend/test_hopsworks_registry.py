"""What the Hopsworks registry adapter does beyond the shared contract (SDK stand-in)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hopsworks_standin import Backend, StandinProject

from candlecast.errors import ModelNotFound
from feature_store.hopsworks import HopsworksModelRegistry
from feature_store.local_registry import LocalModelRegistry


def registry(project: StandinProject) -> HopsworksModelRegistry:
    return HopsworksModelRegistry(project.get_model_registry(), project.get_dataset_api())


def bundle(folder: Path, *, keras: bool) -> Path:
    folder.mkdir(parents=True)
    (folder / "bundle.json").write_text(
        json.dumps({"feature_columns": ["ret_1", "rsi_14"], "horizon": 3})
    )
    if keras:
        (folder / "model.keras").write_text("weights")
    return folder


def test_it_uses_the_tensorflow_factory_for_keras_bundles(
    project: StandinProject, backend: Backend, tmp_path: Path
) -> None:
    """It registers networks as TensorFlow models and baselines as Python models, with schema."""
    models = registry(project)
    models.register("BTCUSDT-1d-lstm", bundle(tmp_path / "net", keras=True), {"mae": 1.0})
    models.register("BTCUSDT-1d-persistence", bundle(tmp_path / "base", keras=False), {"mae": 2.0})
    records = {
        p.parent.name: json.loads(p.read_text()) for p in (backend.root / "Models").glob("*/1.json")
    }
    assert set(records) == {"BTCUSDT_1d_lstm", "BTCUSDT_1d_persistence"}
    assert all(r["has_input_example"] and r["has_model_schema"] for r in records.values())
    created = project.get_model_registry().get_models("BTCUSDT_1d_lstm")[0]
    assert created.version == 1 and created.training_metrics == {"mae": 1.0}


def test_the_bundle_layout_equals_the_local_registrys(
    project: StandinProject, tmp_path: Path
) -> None:
    """It stores the bundle dir as-is plus version.json, file for file like the local registry."""
    source = bundle(tmp_path / "bundle", keras=True)
    (source / "scaler").mkdir()
    (source / "scaler" / "scaler.json").write_text("{}")
    remote = registry(project).register("lstm", source, {"mae": 1.0}, {"symbol": "BTCUSDT"})
    local = LocalModelRegistry(tmp_path / "local").register(
        "lstm", source, {"mae": 1.0}, {"symbol": "BTCUSDT"}
    )
    assert _files(remote.path) == _files(local.path)
    assert remote.metadata == local.metadata and remote.metrics == local.metrics


def test_a_name_that_only_maps_to_the_same_hopsworks_name_is_not_found(
    project: StandinProject, tmp_path: Path
) -> None:
    """It keeps our names apart even where Hopsworks' name for both is the same."""
    models = registry(project)
    models.register("BTCUSDT-1d-mlp", bundle(tmp_path / "b", keras=True), {"mae": 1.0})
    assert models.get("BTCUSDT-1d-mlp").version == 1
    with pytest.raises(ModelNotFound):
        models.get("BTCUSDT_1d_mlp")
    assert [v.name for v in models.list()] == ["BTCUSDT-1d-mlp"]


def test_best_without_filter_uses_hopsworks_best_model(
    project: StandinProject, tmp_path: Path
) -> None:
    """It asks Hopsworks for each name's best version, then picks across names."""
    from hopsworks_standin import CALLS

    models = registry(project)
    source = bundle(tmp_path / "b", keras=False)
    for name, score in (("a", 0.5), ("a", 0.3), ("b", 0.4)):
        models.register(name, source, {"score": score})
    CALLS.clear()
    best = models.best("score", direction="min")
    assert (best.name, best.version) == ("a", 2)
    assert CALLS["ModelRegistry.get_best_model"] == 2
    assert models.best("score", direction="max").metrics["score"] == 0.5


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "version.json"
    } | {"version.json": b"present" if (root / "version.json").exists() else b""}
