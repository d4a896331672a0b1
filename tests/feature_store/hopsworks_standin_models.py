"""Stand-ins for the SDK's dataset API, model registry, model factories and models."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from hopsworks_common.core.dataset_api import DatasetApi
from hopsworks_standin_core import Backend, follows
from hsml.model import Model
from hsml.model_registry import ModelRegistry
from hsml.python import signature as python_signature


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
