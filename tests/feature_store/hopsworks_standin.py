"""A stand-in for the Hopsworks client objects, kept in a folder, that checks every SDK call.

Each stand-in method is declared with `@follows(<the installed SDK's method>)`: every call is
bound to the real method's `inspect.signature` first, so a renamed or removed parameter fails
the test that makes the call. Filters are the SDK's own `Feature`/`Filter`/`Logic` objects.
This verifies our calls and their arguments, not the Hopsworks service.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from hopsworks_common.project import Project
from hopsworks_standin_core import ATTRIBUTES, CALLS, LOGINS, Backend, follows
from hopsworks_standin_fs import (
    StandinFeatureGroup,
    StandinFeatureStore,
    StandinJob,
    StandinQuery,
)
from hopsworks_standin_models import (
    StandinDatasetApi,
    StandinModel,
    StandinModelFactory,
    StandinModelRegistry,
)

__all__ = [
    "ATTRIBUTES",
    "CALLS",
    "LOGINS",
    "Backend",
    "StandinDatasetApi",
    "StandinFeatureGroup",
    "StandinFeatureStore",
    "StandinJob",
    "StandinModel",
    "StandinModelFactory",
    "StandinModelRegistry",
    "StandinProject",
    "StandinQuery",
    "follows",
    "login_standin",
    "standin_registry",
    "standin_store",
]


def login_standin(root: Path) -> Callable[..., StandinProject]:
    """A `hopsworks.login` replacement with the real signature, returning a stand-in project."""
    import hopsworks

    @follows(hopsworks.login, method=False)
    def login(_self: object = None, **kwargs: Any) -> StandinProject:
        LOGINS.append(kwargs)
        return StandinProject(Backend(root), kwargs.get("project") or "standin")

    return lambda *args, **kwargs: login(None, *args, **kwargs)


class StandinProject:
    def __init__(self, backend: Backend, name: str) -> None:
        self._backend = backend
        self.name = name

    @follows(Project.get_feature_store)
    def get_feature_store(self, name: str | None = None) -> StandinFeatureStore:
        return StandinFeatureStore(self._backend)

    @follows(Project.get_model_registry)
    def get_model_registry(self) -> StandinModelRegistry:
        return StandinModelRegistry(self._backend)

    @follows(Project.get_dataset_api)
    def get_dataset_api(self) -> StandinDatasetApi:
        return StandinDatasetApi(self._backend)


def standin_store(folder: Path) -> Any:
    """The Hopsworks feature store adapter over a stand-in project kept in folder."""
    from feature_store.hopsworks import HopsworksFeatureStore

    project = StandinProject(Backend(folder / "hopsworks"), "standin")
    return HopsworksFeatureStore(project.get_feature_store(), uri="hopsworks://standin/standin")


def standin_registry(folder: Path) -> Any:
    """The Hopsworks model registry adapter over a stand-in project kept in folder."""
    from feature_store.hopsworks import HopsworksModelRegistry

    project = StandinProject(Backend(folder / "hopsworks"), "standin")
    return HopsworksModelRegistry(project.get_model_registry(), project.get_dataset_api())
