"""The embedded model registry: one folder per version, published with an atomic rename."""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from candlecast.errors import ModelNotFound, StoreError
from feature_store.base import SERVED_METRIC, ModelVersion
from feature_store.versions import (
    VERSION_FILE,
    checked_bundle,
    copy_bundle,
    is_model_name,
    pick_best,
    read_version,
)

logger = logging.getLogger(__name__)

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
            if not is_model_name(model) or not folder.is_dir():
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


def _load(name: str, folder: Path) -> ModelVersion | None:
    try:
        return read_version(name, int(folder.name), folder)
    except FileNotFoundError:
        return None  # a number claimed by a registration that has not been published yet
    except (OSError, json.JSONDecodeError) as error:
        raise StoreError(
            f"{folder / VERSION_FILE} cannot be read ({error}); remove the folder {folder}"
        ) from None


def _fsync_dir(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
