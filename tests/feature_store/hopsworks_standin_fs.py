"""Stand-ins for the SDK's feature store, feature group, query, feature view and job."""

from __future__ import annotations

from typing import Any

import pandas as pd
from hopsworks_common.client.exceptions import FeatureStoreException
from hopsworks_common.job import Job
from hopsworks_standin_core import Backend, follows
from hsfs.constructor.filter import Filter, Logic
from hsfs.constructor.query import Query
from hsfs.feature import Feature
from hsfs.feature_group import FeatureGroup
from hsfs.feature_store import FeatureStore


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
            # Another process may have saved the group first: take its metadata and features.
            self._meta = state["groups"][self.key]["meta"]
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


class StandinJob:
    def __init__(self, state: str) -> None:
        self._state = state

    @follows(Job.get_final_state)
    def get_final_state(self) -> str:
        return self._state


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
