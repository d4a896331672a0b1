"""The Hopsworks model registry adapter: bundles saved as-is, metrics as training metrics."""

from __future__ import annotations

import json
import logging
import re
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from candlecast.errors import ModelNotFound, StoreError
from feature_store.base import SERVED_METRIC, ModelVersion
from feature_store.hopsworks_login import login, sdk_boundary
from feature_store.versions import (
    VERSION_FILE,
    check_name,
    checked_bundle,
    copy_bundle,
    pick_best,
    read_version,
)

if TYPE_CHECKING:
    from candlecast.settings import Settings

logger = logging.getLogger(__name__)

MODELS_DATASET = "Models"
KERAS_FILE = "model.keras"
BUNDLE_FILE = "bundle.json"
# The description carries the registry record's small values, so listing needs no download.
_DESCRIPTION = "candlecast "
_SAFE = re.compile(r"[^A-Za-z0-9_]")


class HopsworksModelRegistry:
    """Model versions in a Hopsworks project; each version's files are the bundle dir as-is."""

    backend = "hopsworks"

    def __init__(self, registry: Any, datasets: Any) -> None:
        self._mr = registry
        self._datasets = datasets

    @classmethod
    def connect(cls, settings: Settings) -> HopsworksModelRegistry:
        """Log in with the settings and use the project's model registry."""
        project = login(settings)
        return cls(project.get_model_registry(), project.get_dataset_api())

    @sdk_boundary("register the model")
    def register(
        self,
        name: str,
        model_dir: Path,
        metrics: Mapping[str, float],
        metadata: Mapping[str, Any] | None = None,
    ) -> ModelVersion:
        """Upload model_dir (plus version.json, as in the local registry) as the next version."""
        source, record = checked_bundle(name, model_dir, metrics, metadata)
        factory = self._mr.tensorflow if (source / KERAS_FILE).exists() else self._mr.python
        example, schema = _input_example(source)
        model = factory.create_model(
            name=hopsworks_name(name),
            metrics=record["metrics"],
            description=describe(name, record),
            input_example=example,
            model_schema=schema,
        )
        with tempfile.TemporaryDirectory(prefix="candlecast-upload-") as workdir:
            staging = Path(workdir) / name
            copy_bundle(source, staging, record)
            saved = model.save(str(staging))
        logger.info("registered %s version %s in Hopsworks", name, saved.version)
        return self.get(name, int(saved.version))

    @sdk_boundary("get the model")
    def get(self, name: str, version: int | None = None) -> ModelVersion:
        """One version (the latest when version is None), downloaded to the SDK's model cache."""
        check_name(name)
        if version is None:
            models = self._models(name)
            if not models:
                raise ModelNotFound(
                    f"no model named {name!r} is registered; run `candlecast train`"
                )
            model = models[-1]
        else:
            model = self._mr.get_model(hopsworks_name(name), version=version)
            if model is None or _original_name(model) != name:
                raise ModelNotFound(
                    f"model {name!r} has no version {version}; registered versions: "
                    f"{[v.version for v in self.list(name)]}"
                )
        return _downloaded(name, model)

    @sdk_boundary("list models")
    def list(self, name: str | None = None) -> list[ModelVersion]:
        """All versions (of one name, or of every name), oldest first per name.

        Each version is downloaded (once: the SDK caches model files across processes) so that
        `path` holds its bundle, as in the local registry.
        """
        names = [name] if name is not None else self._names()
        return [_downloaded(n, m) for n in names for m in self._models(n)]

    @sdk_boundary("find the best model")
    def best(
        self,
        metric: str = SERVED_METRIC,
        *,
        direction: str = "max",
        where: Mapping[str, Any] | None = None,
    ) -> ModelVersion:
        """The best version by metric among those whose metadata matches `where`.

        Without `where`, each name's candidate is Hopsworks' own `get_best_model`; with it,
        every version is a candidate (versions of one name may differ in metadata).
        """
        if direction not in ("min", "max"):
            raise ValueError(f"direction must be 'min' or 'max', got {direction!r}")
        if where:
            candidates = self.list()
        else:
            candidates = []
            for name in self._names():
                model = self._mr.get_best_model(hopsworks_name(name), metric, direction)
                if model is not None and _original_name(model) == name:
                    candidates.append(_version(name, model))
        chosen = pick_best(candidates, metric, direction=direction, where=where)
        return self.get(chosen.name, chosen.version)

    def _models(self, name: str) -> list[Any]:
        check_name(name)
        models = self._mr.get_models(hopsworks_name(name)) or []
        return sorted((m for m in models if _original_name(m) == name), key=lambda m: m.version)

    def _names(self) -> list[str]:
        """Registered names, read from the descriptions of the Models dataset's entries."""
        if not self._datasets.exists(MODELS_DATASET):
            return []
        names = set()
        for path in self._datasets.list(MODELS_DATASET):
            for model in self._mr.get_models(PurePosixPath(path).name) or []:
                original = _original_name(model)
                if original is not None:
                    names.add(original)
        return sorted(names)


def hopsworks_name(name: str) -> str:
    """The Hopsworks model name: letters, digits and underscores only."""
    return _SAFE.sub("_", name)


def describe(name: str, record: Mapping[str, Any]) -> str:
    """The model description: our name, creation time and the small metadata values as JSON."""
    small = {
        k: v
        for k, v in record["metadata"].items()
        if isinstance(v, str | int | float | bool) and len(str(v)) <= 120
    }
    return _DESCRIPTION + json.dumps(
        {"name": name, "created": record["created"], "metadata": small}, sort_keys=True
    )


def _described(model: Any) -> dict[str, Any] | None:
    text = model.description or ""
    if not text.startswith(_DESCRIPTION):
        return None
    try:
        return json.loads(text[len(_DESCRIPTION) :])
    except json.JSONDecodeError:
        return None


def _original_name(model: Any) -> str | None:
    described = _described(model)
    return None if described is None else described.get("name")


def _version(name: str, model: Any) -> ModelVersion:
    """The version as the model's description tells it, without downloading its files."""
    described = _described(model) or {}
    created = described.get("created")
    return ModelVersion(
        name=name,
        version=int(model.version),
        created=datetime.fromisoformat(created) if created else datetime.fromtimestamp(0, UTC),
        metrics={k: float(v) for k, v in (model.training_metrics or {}).items()},
        metadata=dict(described.get("metadata", {})),
    )


def _downloaded(name: str, model: Any) -> ModelVersion:
    """The version with its files on disk and the full metadata of its version.json."""
    path = Path(model.download())
    try:
        return read_version(name, int(model.version), path)
    except (OSError, json.JSONDecodeError) as error:
        raise StoreError(
            f"model {name} version {model.version} has no readable {VERSION_FILE} ({error}); "
            "it was not registered by candlecast — register it again with `candlecast train`"
        ) from None


def _input_example(source: Path) -> tuple[Any, Any]:
    """A one-row input example and the model schema, from the bundle's feature columns."""
    try:
        bundle = json.loads((source / BUNDLE_FILE).read_text(encoding="utf-8"))
        columns = [str(c) for c in bundle["feature_columns"]]
        horizon = int(bundle.get("horizon", 1))
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError):
        return None, None
    import pandas as pd
    from hsml.model_schema import ModelSchema
    from hsml.schema import Schema

    example = pd.DataFrame([[0.0] * len(columns)], columns=columns)
    output = pd.DataFrame(
        [[0.0] * horizon], columns=[f"log_return_h{h}" for h in range(1, horizon + 1)]
    )
    return example, ModelSchema(input_schema=Schema(example), output_schema=Schema(output))
