"""What both model registries share: names, version records, bundle checks and the best pick."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from candlecast.errors import ModelNotFound, StoreError, ValidationError
from feature_store.base import ModelVersion

VERSION_FILE = "version.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


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


def is_model_name(name: str) -> bool:
    return bool(_NAME.match(name)) and not name.isdigit()


def check_name(name: str) -> str:
    """Return name or raise: model names are folder-safe (letters, digits, . _ -)."""
    if not _NAME.match(name) or name.isdigit():
        raise ValidationError(
            f"model name {name!r} is not allowed; use letters, digits, '.', '_' or '-' "
            "(e.g. lstm_BTCUSDT_1d)"
        )
    return name


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
    return version_of(name, version, record, folder)


def version_of(
    name: str, version: int, record: Mapping[str, Any], path: Path | None = None
) -> ModelVersion:
    """The version a record (created, metrics, metadata) describes, its bundle at path."""
    return ModelVersion(
        name=name,
        version=version,
        created=datetime.fromisoformat(record["created"]),
        metrics={k: float(v) for k, v in record["metrics"].items()},
        metadata=dict(record.get("metadata", {})),
        path=path,
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


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)
