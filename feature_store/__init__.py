"""Feature store and model registry: one interface, adapters chosen by settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from feature_store.base import (
    SERVED_METRIC,
    ColumnStats,
    FeatureGroupSpec,
    FeatureStore,
    ModelRegistry,
    ModelVersion,
    SeriesSummary,
    WriteResult,
    served_version,
)

if TYPE_CHECKING:
    from candlecast.settings import Settings

__all__ = [
    "SERVED_METRIC",
    "ColumnStats",
    "FeatureGroupSpec",
    "FeatureStore",
    "ModelRegistry",
    "ModelVersion",
    "SeriesSummary",
    "WriteResult",
    "open_registry",
    "open_store",
    "served_version",
]


def open_store(settings: Settings) -> FeatureStore:
    """The feature store the settings name (adapters are imported only when chosen)."""
    if settings.store == "hopsworks":
        from feature_store.hopsworks import HopsworksFeatureStore

        return HopsworksFeatureStore.connect(settings)
    from feature_store.local import LocalFeatureStore
    from feature_store.storage import is_remote, s3_options

    location = settings.store_location
    options = s3_options(settings.aws_storage) if is_remote(location) else {}
    return LocalFeatureStore(location, storage_options=options)


def open_registry(settings: Settings) -> ModelRegistry:
    """The model registry the settings name."""
    if settings.store == "hopsworks":
        from feature_store.hopsworks import HopsworksModelRegistry

        return HopsworksModelRegistry.connect(settings)
    from feature_store.storage import is_remote

    location = settings.registry_location
    if is_remote(location):
        from feature_store.s3_registry import S3ModelRegistry

        return S3ModelRegistry.connect(
            location, settings.home / "cache" / "registry", settings.aws_storage
        )
    from feature_store.local_registry import LocalModelRegistry

    return LocalModelRegistry(location)
