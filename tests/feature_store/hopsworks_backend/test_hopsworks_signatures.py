"""The adapters' calls against the installed SDK's real signatures (our calls, not the service)."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime
from pathlib import Path

import hopsworks_standin
import pandas as pd
import pytest
from hopsworks_standin import ATTRIBUTES, CALLS, Backend, StandinProject
from store_adapters import candle_frame

from feature_pipeline.groups import CANDLES
from feature_store.hopsworks import HopsworksFeatureStore, HopsworksModelRegistry

# Every SDK method the adapters call in a whole store + registry flow.
USED = {
    "login",
    "Project.get_feature_store",
    "Project.get_model_registry",
    "Project.get_dataset_api",
    "FeatureStore.get_or_create_feature_group",
    "FeatureStore.get_feature_group",
    "FeatureStore.get_feature_groups",
    "FeatureGroup.save",
    "FeatureGroup.insert",
    "FeatureGroup.commit_details",
    "FeatureGroupBase.get_feature",
    "FeatureGroupBase.select",
    "Query.filter",
    "Query.as_of",
    "Query.read",
    "Job.get_final_state",
    "DatasetApi.exists",
    "DatasetApi.list",
    "create_model",
    "ModelRegistry.get_model",
    "ModelRegistry.get_models",
    "ModelRegistry.get_best_model",
    "Model.save",
    "Model.download",
}


def whole_flow(standin_login: Backend, settings, tmp_path: Path) -> None:
    """Every adapter operation once, through `connect` as the commands do."""
    store = HopsworksFeatureStore.connect(settings)
    store.upsert(CANDLES, candle_frame(n=12))
    version = store.table_version(CANDLES)
    store.upsert(CANDLES, candle_frame(start="2024-01-10", n=5, seed=3))
    store.read(CANDLES, symbol="BTCUSDT", start=datetime(2024, 1, 2, tzinfo=UTC))
    store.read(CANDLES, as_of_version=version)
    store.latest(CANDLES, symbol="BTCUSDT", interval="1d", n=3)
    store.list_groups()
    registry = HopsworksModelRegistry.connect(settings)
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "model.keras").write_text("weights")
    registry.register("BTCUSDT-1d-lstm", bundle, {"mae": 1.0}, {"symbol": "BTCUSDT"})
    registry.get("BTCUSDT-1d-lstm", 1)
    registry.best("mae")


def test_every_sdk_call_of_a_whole_flow_binds_to_the_real_signature(
    standin_login: Backend, settings, tmp_path: Path
) -> None:
    """It runs every adapter operation; each SDK call was bound to the installed signature."""
    CALLS.clear()
    whole_flow(standin_login, settings, tmp_path)
    assert set(CALLS) == USED


def test_the_check_rejects_a_parameter_the_sdk_does_not_have(project: StandinProject) -> None:
    """It fails a call whose keyword the installed SDK lacks (so an SDK change breaks tests)."""
    fs = project.get_feature_store()
    with pytest.raises(AssertionError, match="get_or_create_feature_group"):
        fs.get_or_create_feature_group(name="candles", version=1, primary_keys=["symbol"])
    group = fs.get_or_create_feature_group(name="candles", version=1)
    with pytest.raises(AssertionError, match="insert"):
        group.insert(pd.DataFrame({"a": [1]}), wait_for_job=True)


def test_the_standin_names_only_parameters_the_sdk_has() -> None:
    """It declares no named parameter that the real SDK method lacks."""
    checked = 0
    for cls in vars(hopsworks_standin).values():
        if not (isinstance(cls, type) and cls.__name__.startswith("Standin")):
            continue
        for name, function in vars(cls).items():
            real = getattr(function, "follows", None)
            if real is None:
                continue
            own = set(inspect.signature(inspect.unwrap(function)).parameters) - {"self", "kwargs"}
            assert own <= set(inspect.signature(real).parameters), f"{cls.__name__}.{name}"
            checked += 1
    assert checked >= 20


def test_the_attributes_the_adapters_read_exist_on_the_sdk_classes() -> None:
    """It finds every attribute the adapters read (id, features, training_metrics ...)."""
    for sdk_class, names in ATTRIBUTES.items():
        public = {n for n in dir(sdk_class) if not n.startswith("_")}
        missing = set(names) - public
        assert not missing, f"{sdk_class.__qualname__} lacks {sorted(missing)}"
