"""The embedded model registry: one folder per version, published with an atomic rename."""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import math
import os
import re
import shutil
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from candlecast.errors import ModelNotFound, StoreError, ValidationError
from feature_store.base import SERVED_METRIC, ModelVersion

logger = logging.getLogger(__name__)

VERSION_FILE = "version.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_STAGING = ".staging-"
MAX_ATTEMPTS = 1000
STALE_STAGING_S = 24 * 3600


class LocalModelRegistry:
    """Model bundles under `{root}/{name}/{version}/`, each with a `version.json`."""

    backend = "local"

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).expanduser().resolve()

    def __repr__(self) -> str:
        return f"LocalModelRegistry({str(self.root)!r})"

    def register(
        self,
        name: str,
        model_dir: Path,
        metrics: Mapping[str, float],
        metadata: Mapping[str, Any] | None = None,
    ) -> ModelVersion:
        """Copy model_dir in as the next version of name; the version appears all at once."""
        source, record = checked_bundle(name, model_dir, metrics, metadata)
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        _sweep_staging(folder)
        staging = folder / f"{_STAGING}{uuid.uuid4().hex}"
        try:
            copy_bundle(source, staging, record)
            version = _publish(staging, folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        logger.info("registered %s version %d", name, version)
        return read_version(name, version, folder / str(version))

    def get(self, name: str, version: int | None = None) -> ModelVersion:
        """One version of name, or its latest when version is None."""
        versions = self.list(name)
        if not versions:
            raise ModelNotFound(f"no model named {name!r} is registered; run `candlecast train`")
        if version is None:
            return versions[-1]
        for found in versions:
            if found.version == version:
                return found
        raise ModelNotFound(
            f"model {name!r} has no version {version}; registered versions: "
            f"{[v.version for v in versions]}"
        )

    def list(self, name: str | None = None) -> list[ModelVersion]:
        """Every published version (of one name, or of all names), oldest first per name."""
        if not self.root.is_dir():
            return []
        names = [name] if name is not None else sorted(p.name for p in self.root.iterdir())
        versions: list[ModelVersion] = []
        for model in names:
            folder = self.root / model
            if not _NAME.match(model) or not folder.is_dir():
                continue
            numbers = sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit())
            versions.extend(v for n in numbers if (v := _load(model, folder / str(n))) is not None)
        return versions

    def best(
        self,
        metric: str = SERVED_METRIC,
        *,
        direction: str = "max",
        where: Mapping[str, Any] | None = None,
    ) -> ModelVersion:
        """The version with the lowest (or highest) metric among those matching `where`."""
        if direction not in ("min", "max"):
            raise ValueError(f"direction must be 'min' or 'max', got {direction!r}")
        return pick_best(self.list(), metric, direction=direction, where=where)


def pick_best(
    versions: list[ModelVersion],
    metric: str,
    *,
    direction: str = "min",
    where: Mapping[str, Any] | None = None,
) -> ModelVersion:
    """The best of the given versions by metric; ties go to the newest. Raises ModelNotFound."""
    wanted = dict(where or {})
    candidates = [
        v
        for v in versions
        if all(v.metadata.get(k) == value for k, value in wanted.items())
        and _finite(v.metrics.get(metric))
    ]
    if not candidates:
        scope = " ".join(str(v) for v in wanted.values()) or "any series"
        raise ModelNotFound(
            f"no model registered for {scope} with metric {metric!r}; run `candlecast train`"
        )
    sign = 1.0 if direction == "min" else -1.0
    return min(
        candidates, key=lambda v: (sign * v.metrics[metric], -v.created.timestamp(), -v.version)
    )


def check_name(name: str) -> str:
    """Return name or raise: model names are folder-safe (letters, digits, . _ -)."""
    if not _NAME.match(name) or name.isdigit():
        raise ValidationError(
            f"model name {name!r} is not allowed; use letters, digits, '.', '_' or '-' "
            "(e.g. lstm_BTCUSDT_1d)"
        )
    return name


def _publish(staging: Path, folder: Path) -> int:
    """Rename the staged folder to the next free version number; retry when another wins."""
    for _ in range(MAX_ATTEMPTS):
        numbers = [int(p.name) for p in folder.iterdir() if p.name.isdigit()]
        version = max(numbers, default=0) + 1
        try:
            os.rename(staging, folder / str(version))  # atomic; fails if a rival took the number
        except OSError as error:
            if error.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
            continue
        _fsync_dir(folder)
        return version
    raise StoreError(f"could not find a free version number in {folder}; retry the registration")


def _sweep_staging(folder: Path) -> None:
    """Remove staging folders left by registrations that crashed more than a day ago."""
    cutoff = time.time() - STALE_STAGING_S
    for leftover in folder.glob(f"{_STAGING}*"):
        with contextlib.suppress(FileNotFoundError):
            if leftover.stat().st_mtime < cutoff:
                logger.info("removing %s, left by a registration that did not finish", leftover)
                shutil.rmtree(leftover, ignore_errors=True)


def checked_bundle(
    name: str,
    model_dir: Path,
    metrics: Mapping[str, float],
    metadata: Mapping[str, Any] | None,
) -> tuple[Path, dict[str, Any]]:
    """The bundle folder and its version record, or raise naming what is wrong with them."""
    check_name(name)
    source = Path(model_dir)
    if not source.is_dir():
        raise StoreError(f"model directory {source} does not exist; save the model there first")
    if (source / VERSION_FILE).exists():
        raise ValidationError(
            f"{source} holds a file named {VERSION_FILE}, which the registry reserves; rename it"
        )
    return source, _record(metrics, metadata)


def copy_bundle(source: Path, destination: Path, record: Mapping[str, Any]) -> None:
    """Copy the bundle folder to destination and write its record there as version.json."""
    shutil.copytree(source, destination)
    with (destination / VERSION_FILE).open("w", encoding="utf-8") as handle:
        json.dump(record, handle, indent=2, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())


def read_version(name: str, version: int, folder: Path) -> ModelVersion:
    """The version described by folder's version.json; raises OSError or JSONDecodeError."""
    record = json.loads((folder / VERSION_FILE).read_text(encoding="utf-8"))
    return ModelVersion(
        name=name,
        version=version,
        created=datetime.fromisoformat(record["created"]),
        metrics={k: float(v) for k, v in record["metrics"].items()},
        metadata=dict(record.get("metadata", {})),
        path=folder,
    )


def _record(metrics: Mapping[str, float], metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    clean: dict[str, float] = {}
    for key, value in metrics.items():
        try:
            clean[str(key)] = float(value)
        except (TypeError, ValueError):
            raise ValidationError(f"metric {key!r}={value!r} is not a number") from None
    record = {
        "created": datetime.now(UTC).isoformat(),
        "metrics": clean,
        "metadata": dict(metadata or {}),
    }
    try:
        json.dumps(record, allow_nan=True)
    except TypeError as error:
        raise ValidationError(
            f"model metadata must be JSON-serialisable ({error}); "
            "pass strings, numbers, lists and dicts"
        ) from None
    return record


def _load(name: str, folder: Path) -> ModelVersion | None:
    try:
        return read_version(name, int(folder.name), folder)
    except FileNotFoundError:
        return None  # a number claimed by a registration that has not been published yet
    except (OSError, json.JSONDecodeError) as error:
        raise StoreError(
            f"{folder / VERSION_FILE} cannot be read ({error}); remove the folder {folder}"
        ) from None


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _fsync_dir(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
