"""The stand-in's core: calls bound to the installed SDK's signatures, and its folder state."""

from __future__ import annotations

import fcntl
import functools
import inspect
import os
import pickle
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
from hsfs.feature import Feature
from hsfs.feature_group import FeatureGroup
from hsml.model import Model
from hsml.model_registry import ModelRegistry

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
