"""A stand-in for the Hopsworks client objects, kept in a folder, that checks every SDK call.

Each stand-in method is declared with `@follows(<the installed SDK's method>)`: every call is
bound to the real method's `inspect.signature` first, so a renamed or removed parameter fails
the test that makes the call. Filters are the SDK's own `Feature`/`Filter`/`Logic` objects.
This verifies our calls and their arguments, not the Hopsworks service.
"""

from __future__ import annotations

import fcntl
import functools
import inspect
import json
import os
import pickle
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
from hopsworks_common.client.exceptions import FeatureStoreException
from hopsworks_common.core.dataset_api import DatasetApi
from hopsworks_common.job import Job
from hopsworks_common.project import Project
from hsfs.constructor.filter import Filter, Logic
from hsfs.constructor.query import Query
from hsfs.feature import Feature
from hsfs.feature_group import FeatureGroup
from hsfs.feature_store import FeatureStore
from hsfs.feature_view import FeatureView
from hsml.model import Model
from hsml.model_registry import ModelRegistry
from hsml.python import signature as python_signature

# (SDK object, method) -> number of calls; filled by @follows, read by the signature tests.
CALLS: dict[str, int] = {}
LOGINS: list[dict[str, Any]] = []  # the keyword arguments of every stand-in login
# Attributes the adapters read from SDK objects: each must exist on the real class.
ATTRIBUTES: dict[type, tuple[str, ...]] = {
    FeatureGroup: (
        "id",
        "name",
        "version",
        "description",
        "features",
        "primary_key",
        "event_time",
        "partition_key",
    ),
    Feature: ("name", "type", "description"),
    Model: ("name", "version", "description", "training_metrics"),
    ModelRegistry: ("python", "tensorflow"),
}


def follows(real: Callable[..., Any], *, method: bool = True) -> Callable[[Callable], Callable]:
    """Bind every call to `real`'s signature before running the stand-in."""
    signature = inspect.signature(real)
    name = real.__qualname__

    def decorate(standin: Callable[..., Any]) -> Callable[..., Any]:

        @functools.wraps(standin)
        def checked(*args: Any, **kwargs: Any) -> Any:
            try:
                signature.bind(*(args if method else args[1:]), **kwargs)
            except TypeError as error:
                raise AssertionError(
                    f"the SDK's {name}{signature} rejects this call: {error}"
                ) from None
            CALLS[name] = CALLS.get(name, 0) + 1
            return standin(*args, **kwargs)

        checked.follows = real  # type: ignore[attr-defined]
        return checked

    return decorate


class Backend:
    """The stand-in's state: feature groups and models under one folder, one writer at a time."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.fail_jobs = False
        self.fail_deletes = False
        self.fail_reads = False

    @contextmanager
    def locked(self) -> Iterator[dict[str, Any]]:
        with (self.root / "lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state = self.state()
            yield state
            self._write(self.root / "state.pkl", state)

    def state(self) -> dict[str, Any]:
        path = self.root / "state.pkl"
        if not path.exists():
            return {"groups": {}, "next_id": 1, "clock": 0}
        return pickle.loads(path.read_bytes())

    def tick(self, state: dict[str, Any]) -> int:
        state["clock"] = max(int(time.time() * 1000), state["clock"] + 1)
        return state["clock"]

    def snapshot(self, group_key: str, commit: int | None) -> pd.DataFrame | None:
        if commit is None:
            return None
        return pickle.loads((self.root / "commits" / group_key / f"{commit}.pkl").read_bytes())

    def commit(
        self, state: dict[str, Any], group_key: str, frame: pd.DataFrame, counts: dict
    ) -> None:
        stamp = self.tick(state)
        self._write(self.root / "commits" / group_key / f"{stamp}.pkl", frame)
        state["groups"][group_key]["commits"].append({"id": stamp, **counts})

    @staticmethod
    def _write(path: Path, value: Any) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
        staging.write_bytes(pickle.dumps(value))
        os.replace(staging, path)


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


class StandinFeatureStore:
    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    @follows(FeatureStore.get_or_create_feature_group)
    def get_or_create_feature_group(
        self, name: str, version: int, **kwargs: Any
    ) -> StandinFeatureGroup:
        found = self.get_feature_group(name, version=version)
        if found is not None:
            return found
        meta = {
            "name": name,
            "version": version,
            "description": kwargs.get("description", ""),
            "primary_key": list(kwargs.get("primary_key") or []),
            "event_time": kwargs.get("event_time"),
            "partition_key": list(kwargs.get("partition_key") or []),
            "stream": kwargs.get("stream", False),
            "time_travel_format": kwargs.get("time_travel_format"),
            "features": [],
        }
        return StandinFeatureGroup(self._backend, meta, group_id=None)

    @follows(FeatureStore.get_feature_group)
    def get_feature_group(
        self, name: str, version: int | None = None
    ) -> StandinFeatureGroup | None:
        group = self._backend.state()["groups"].get(f"{name}_{version or 1}")
        return (
            None
            if group is None
            else StandinFeatureGroup(self._backend, group["meta"], group["id"])
        )

    @follows(FeatureStore.get_feature_groups)
    def get_feature_groups(self, name: str | None = None) -> list[StandinFeatureGroup]:
        groups = self._backend.state()["groups"].values()
        return [
            StandinFeatureGroup(self._backend, g["meta"], g["id"])
            for g in groups
            if name is None or g["meta"]["name"] == name
        ]

    @follows(FeatureStore.get_or_create_feature_view)
    def get_or_create_feature_view(
        self, name: str, query: StandinQuery, version: int, **kwargs: Any
    ) -> StandinFeatureView:
        return StandinFeatureView(query, labels=list(kwargs.get("labels") or []))


class StandinFeatureGroup:
    def __init__(self, backend: Backend, meta: dict[str, Any], group_id: int | None) -> None:
        self._backend = backend
        self._meta = meta
        self.id = group_id
        self.name, self.version = meta["name"], meta["version"]
        self.description = meta["description"]
        self.primary_key, self.event_time = meta["primary_key"], meta["event_time"]
        self.partition_key = meta["partition_key"]
        self.features = [Feature(**f, feature_group_id=group_id) for f in meta["features"]]

    @property
    def key(self) -> str:
        return f"{self.name}_{self.version}"

    @follows(FeatureGroup.save)
    def save(self, features: list[Feature] | None = None, **kwargs: Any) -> tuple[None, None]:
        with self._backend.locked() as state:
            if self.key not in state["groups"]:
                self._meta["features"] = [_feature_record(f) for f in features or []]
                state["groups"][self.key] = {
                    "meta": self._meta,
                    "id": state["next_id"],
                    "commits": [],
                }
                state["next_id"] += 1
            self.id = state["groups"][self.key]["id"]
        self.__init__(self._backend, self._meta, self.id)
        return None, None

    @follows(FeatureGroup.insert)
    def insert(self, features: pd.DataFrame, **kwargs: Any) -> tuple[StandinJob, None]:
        assert isinstance(features, pd.DataFrame), "the adapter inserts pandas frames"
        if self.id is None:
            self.save(features=[Feature(c, "string") for c in features.columns])
        if self._backend.fail_jobs:
            return StandinJob("FAILED"), None
        incoming = _as_offline(features)
        with self._backend.locked() as state:
            current = self._latest(state)
            merged, updated = _upsert(current, incoming, self.primary_key)
            self._backend.commit(
                state,
                self.key,
                merged,
                {"rowsInserted": len(incoming) - updated, "rowsUpdated": updated, "rowsDeleted": 0},
            )
        return StandinJob("FINISHED"), None

    @follows(FeatureGroup.remove_rows)
    def remove_rows(
        self, delete_df: pd.DataFrame, write_options: dict | None = None, storage: str | None = None
    ) -> None:
        if self._backend.fail_deletes:  # e.g. deltalake without HopsFS support in this process
            raise OSError("delta-rs: unsupported object store scheme 'hdfs'")
        keys = _as_offline(delete_df)[self.primary_key]
        with self._backend.locked() as state:
            current = self._latest(state)
            joined = current.merge(keys, on=self.primary_key, how="left", indicator=True)
            kept = current.loc[(joined["_merge"] == "left_only").to_numpy()].reset_index(drop=True)
            counts = {"rowsInserted": 0, "rowsUpdated": 0, "rowsDeleted": len(current) - len(kept)}
            self._backend.commit(state, self.key, kept, counts)

    @follows(FeatureGroup.commit_details)
    def commit_details(
        self, wallclock_time: Any = None, limit: int | None = None
    ) -> dict[int, dict[str, Any]]:
        commits = self._backend.state()["groups"][self.key]["commits"]
        return {
            c["id"]: {"committedOn": str(c["id"]), **{k: v for k, v in c.items() if k != "id"}}
            for c in commits
        }

    @follows(FeatureGroup.get_feature)
    def get_feature(self, name: str) -> Feature:
        return next(f for f in self.features if f.name == name)

    @follows(FeatureGroup.select)
    def select(self, features: list[str]) -> StandinQuery:
        return StandinQuery(self, list(features))

    @follows(FeatureGroup.select_all)
    def select_all(self, **kwargs: Any) -> StandinQuery:
        return StandinQuery(self, [f.name for f in self.features])

    def _latest(self, state: dict[str, Any]) -> pd.DataFrame:
        commits = state["groups"][self.key]["commits"]
        frame = self._backend.snapshot(self.key, commits[-1]["id"] if commits else None)
        return frame if frame is not None else pd.DataFrame(columns=[f.name for f in self.features])

    def rows(self, as_of: int | None) -> pd.DataFrame:
        commits = [c["id"] for c in self._backend.state()["groups"][self.key]["commits"]]
        visible = [c for c in commits if as_of is None or c <= as_of]
        frame = self._backend.snapshot(self.key, visible[-1] if visible else None)
        return frame if frame is not None else pd.DataFrame(columns=[f.name for f in self.features])


class StandinQuery:
    def __init__(
        self,
        group: StandinFeatureGroup,
        columns: list[str],
        condition: Any = None,
        as_of: int | None = None,
    ) -> None:
        self._group, self._columns, self._condition, self._as_of = group, columns, condition, as_of

    @follows(Query.filter)
    def filter(self, f: Filter | Logic) -> StandinQuery:
        condition = f if self._condition is None else self._condition & f
        return StandinQuery(self._group, self._columns, condition, self._as_of)

    @follows(Query.as_of)
    def as_of(self, wallclock_time: Any = None, exclude_until: Any = None) -> StandinQuery:
        return StandinQuery(self._group, self._columns, self._condition, int(wallclock_time))

    @follows(Query.read)
    def read(
        self, online: bool = False, dataframe_type: str = "default", **kwargs: Any
    ) -> pd.DataFrame:
        assert not online, "the adapter reads the offline store"
        if self._group._backend.fail_reads:
            raise FeatureStoreException("Could not read data using Hopsworks Query Service.")
        if not self._group.commit_details():  # strict: the adapter must not query an empty group
            raise FeatureStoreException(f"feature group {self._group.key} has no offline data yet")
        frame = self._group.rows(self._as_of)
        if self._condition is not None and len(frame):
            frame = frame[_evaluate(self._condition, frame)]
        return frame[self._columns].reset_index(drop=True)


class StandinFeatureView:
    def __init__(self, query: StandinQuery, labels: list[str]) -> None:
        self._query, self._labels = query, labels

    @follows(FeatureView.train_validation_test_split)
    def train_validation_test_split(self, **kwargs: Any) -> tuple[pd.DataFrame, ...]:
        query = (
            self._query.filter(kwargs["extra_filter"])
            if kwargs.get("extra_filter")
            else self._query
        )
        frame = query.read()
        event = pd.to_datetime(frame[self._query._group.event_time], utc=True)
        parts = []
        for split in ("train", "validation", "test"):
            start, end = (pd.Timestamp(kwargs[f"{split}_{b}"]) for b in ("start", "end"))
            parts.append(frame[(event >= start) & (event < end)].reset_index(drop=True))
        features = [p.drop(columns=self._labels) for p in parts]
        return (*features, *(p[self._labels] for p in parts))


class StandinJob:
    def __init__(self, state: str) -> None:
        self._state = state

    @follows(Job.get_final_state)
    def get_final_state(self) -> str:
        return self._state


class StandinDatasetApi:
    def __init__(self, backend: Backend) -> None:
        self._root = backend.root

    @follows(DatasetApi.exists)
    def exists(self, path: str) -> bool:
        return (self._root / path).exists()

    @follows(DatasetApi.list)
    def list(self, path: str, offset: int = 0, limit: int = 1000) -> list[str]:
        names = sorted(p.name for p in (self._root / path).iterdir() if p.is_dir())
        return [f"/Projects/standin/{path}/{n}" for n in names[offset : offset + limit]]


class StandinModelFactory:
    def __init__(self, backend: Backend, framework: str) -> None:
        self._backend, self._framework = backend, framework

    @follows(python_signature.create_model, method=False)
    def create_model(self, name: str, **kwargs: Any) -> StandinModel:
        return StandinModel(self._backend, {"name": name, "framework": self._framework, **kwargs})


class StandinModelRegistry:
    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self.python = StandinModelFactory(backend, "PYTHON")
        self.tensorflow = StandinModelFactory(backend, "TENSORFLOW")

    @follows(ModelRegistry.get_model)
    def get_model(self, name: str, version: int | None = None) -> StandinModel | None:
        return next((m for m in self.get_models(name) if m.version == (version or 1)), None)

    @follows(ModelRegistry.get_models)
    def get_models(self, name: str) -> list[StandinModel]:
        folder = self._backend.root / "Models" / name
        if not folder.is_dir():
            return []
        records = [json.loads(p.read_text()) for p in folder.glob("*.json")]
        return [StandinModel(self._backend, r) for r in sorted(records, key=lambda r: r["version"])]

    @follows(ModelRegistry.get_best_model)
    def get_best_model(self, name: str, metric: str, direction: str) -> StandinModel | None:
        scored = [m for m in self.get_models(name) if metric in (m.training_metrics or {})]
        if not scored:
            return None
        pick = min if direction == "min" else max
        return pick(scored, key=lambda m: m.training_metrics[metric])


class StandinModel:
    def __init__(self, backend: Backend, record: dict[str, Any]) -> None:
        self._backend, self._record = backend, record
        self.name = record["name"]
        self.version = record.get("version")
        self.description = record.get("description")
        self.training_metrics = record.get("metrics")
        self.input_example = record.get("input_example")
        self.model_schema = record.get("model_schema")

    @follows(Model.save)
    def save(self, model_path: str, **kwargs: Any) -> StandinModel:
        folder = self._backend.root / "Models" / self.name
        folder.mkdir(parents=True, exist_ok=True)
        staging = folder / f".upload-{uuid.uuid4().hex}"
        shutil.copytree(model_path, staging)  # a killed upload leaves no version behind
        with self._backend.locked():
            version = 1 + max((int(p.stem) for p in folder.glob("*.json")), default=0)
            os.rename(staging, folder / str(version))
            record = {
                "name": self.name,
                "version": version,
                "description": self.description,
                "metrics": self.training_metrics,
                "has_input_example": self.input_example is not None,
                "has_model_schema": self.model_schema is not None,
            }
            (folder / f"{version}.json").write_text(json.dumps(record))
        return StandinModel(self._backend, record)

    @follows(Model.download)
    def download(self, local_path: str | None = None) -> str:
        source = self._backend.root / "Models" / self.name / str(self.version)
        target = (
            Path(local_path)
            if local_path
            else self._backend.root / "cache" / self.name / str(self.version)
        )
        if not target.exists():
            staging = target.with_name(f".{target.name}-{uuid.uuid4().hex}")
            shutil.copytree(source, staging)
            os.replace(staging, target)
        return str(target)


def _feature_record(feature: Feature) -> dict[str, Any]:
    return {
        "name": feature.name,
        "type": feature.type,
        "description": feature.description,
        "primary": feature.primary,
        "partition": feature.partition,
    }


def _as_offline(frame: pd.DataFrame) -> pd.DataFrame:
    """What the offline store gives back: timestamps as naive UTC, like Hive's `timestamp`."""
    frame = frame.copy()
    for name in frame.columns:
        if isinstance(frame[name].dtype, pd.DatetimeTZDtype):
            frame[name] = frame[name].dt.tz_convert("UTC").dt.tz_localize(None)
    return frame.reset_index(drop=True)


def _upsert(
    current: pd.DataFrame, incoming: pd.DataFrame, key: list[str]
) -> tuple[pd.DataFrame, int]:
    if current.empty:
        return incoming, 0
    joined = current[key].merge(incoming[key], on=key, how="left", indicator=True)
    kept = current.loc[(joined["_merge"] == "left_only").to_numpy()]
    updated = len(current) - len(kept)
    return pd.concat([kept, incoming], ignore_index=True), updated


def _evaluate(condition: Filter | Logic, frame: pd.DataFrame) -> pd.Series:
    if isinstance(condition, Logic):
        sides = [
            _evaluate(side, frame)
            for side in (
                condition._left_f,
                condition._right_f,
                condition._left_l,
                condition._right_l,
            )
            if side is not None
        ]
        combined = sides[0]
        for side in sides[1:]:
            combined = (combined & side) if condition._type == Logic.AND else (combined | side)
        return combined
    column = frame[condition._feature.name]
    value = condition._value
    if condition._feature.type == "timestamp":  # the SDK sends "YYYY-mm-dd HH:MM:SS" in UTC
        value, column = pd.Timestamp(value), pd.to_datetime(column)
    compare = {
        Filter.EQ: column.__eq__,
        Filter.NE: column.__ne__,
        Filter.GE: column.__ge__,
        Filter.GT: column.__gt__,
        Filter.LE: column.__le__,
        Filter.LT: column.__lt__,
    }[condition._condition]
    return compare(value)


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
