"""Every adapter has the exact signatures of the protocol it implements (not just the names)."""

from __future__ import annotations

import importlib
import inspect

import pytest

from feature_pipeline.fetch import CandleSource
from feature_store.base import FeatureStore, ModelRegistry

ADAPTERS = [
    (CandleSource, "feature_pipeline.binance", "BinanceSource"),
    (CandleSource, "feature_pipeline.csv_source", "CsvSource"),
    (CandleSource, "feature_pipeline.archive", "ArchiveSource"),
    (CandleSource, "feature_pipeline.archive", "ArchivingSource"),
    (FeatureStore, "feature_store.local", "LocalFeatureStore"),
    (FeatureStore, "feature_store.hopsworks", "HopsworksFeatureStore"),
    (ModelRegistry, "feature_store.local_registry", "LocalModelRegistry"),
    (ModelRegistry, "feature_store.s3_registry", "S3ModelRegistry"),
    (ModelRegistry, "feature_store.hopsworks_registry", "HopsworksModelRegistry"),
]


def members(protocol: type) -> dict[str, object]:
    """The protocol's methods and properties, as declared on it."""
    return {
        name: value
        for name, value in vars(protocol).items()
        if not name.startswith("_") and (callable(value) or isinstance(value, property))
    }


def parameters(function: object) -> list[tuple[str, object, object]]:
    """(name, kind, default) of each parameter; annotations are compared as written."""
    signature = inspect.signature(inspect.unwrap(function))  # type: ignore[arg-type]
    return [(p.name, p.kind, p.default) for p in signature.parameters.values()]


@pytest.mark.parametrize(("protocol", "module", "name"), ADAPTERS, ids=[a[2] for a in ADAPTERS])
def test_an_adapter_has_every_method_of_its_protocol_with_the_same_signature(
    protocol: type, module: str, name: str
) -> None:
    """It compares each method's parameter names, kinds and defaults with the protocol's."""
    adapter = getattr(importlib.import_module(module), name)  # SDKs are imported on use
    for member, declared in members(protocol).items():
        own = inspect.getattr_static(adapter, member, None)
        assert own is not None, f"{name} lacks {member}"
        if isinstance(declared, property):
            assert isinstance(own, property) or not callable(own), f"{name}.{member}"
            continue
        assert parameters(own) == parameters(declared), f"{name}.{member}"
