"""The embedded model registry on object storage: versions under an s3:// prefix.

Layout under the prefix, per model name:

    {name}/bundles/{token}/...        the bundle's files, uploaded first
    {name}/versions/{version}.json    the version's marker, written last

A version exists once its marker does. The marker is put with `If-None-Match: *`, so of two
registrations that claim the same number only one succeeds; the other takes the next number.
The marker holds the version's record (created, metrics, metadata) and the list of the bundle's
files, so listing and choosing read only markers. A registration killed while uploading leaves
files under `bundles/` that no marker names: never visible, and left in place.

A version's bundle is downloaded on use into a local cache (one folder per version and token,
renamed into place whole), where `ModelVersion.path` points.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import threading
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from candlecast.errors import ModelNotFound, StoreError
from feature_store.base import SERVED_METRIC, ModelVersion
from feature_store.storage import s3_client, split_s3_uri
from feature_store.versions import (
    VERSION_FILE,
    check_name,
    checked_bundle,
    is_model_name,
    pick_best,
    read_version,
    version_of,
)

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 1000
_LOST_RACE = {"PreconditionFailed", "ConditionalRequestConflict"}  # 412 and S3's 409


class S3ModelRegistry:
    """Model bundles under `s3://BUCKET/PREFIX/{name}/`, each version published by its marker."""

    backend = "s3"

    def __init__(self, uri: str, cache: Path | str, client: Any) -> None:
        self.uri = uri.rstrip("/")
        self.bucket, self.prefix = split_s3_uri(self.uri)
        self.cache = Path(cache).expanduser().resolve()
        self._s3 = client
        self._markers: dict[str, dict[str, Any]] = {}  # markers never change once written
        self._lock = threading.Lock()

    @classmethod
    def connect(cls, uri: str, cache: Path | str, aws: Mapping[str, str]) -> S3ModelRegistry:
        """A registry at uri, reached with the standard AWS settings (`Settings.aws_storage`)."""
        return cls(uri, cache, s3_client(aws))

    def __repr__(self) -> str:
        return f"S3ModelRegistry({self.uri!r})"

    def register(
        self,
        name: str,
        model_dir: Path,
        metrics: Mapping[str, float],
        metadata: Mapping[str, Any] | None = None,
    ) -> ModelVersion:
        """Upload model_dir as the next version of name; the version appears all at once."""
        source, record = checked_bundle(name, model_dir, metrics, metadata)
        token = uuid.uuid4().hex
        files = sorted(p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file())
        with self._errors(f"upload {name} to {self.uri}"):
            for relative in files:
                _put_file(
                    self._s3,
                    self.bucket,
                    self._key(name, "bundles", token, relative),
                    source / relative,
                )
            version = self._publish(name, {**record, "token": token, "files": files})
        logger.info("registered %s version %d in %s", name, version, self.uri)
        return self._materialise(name, version)

    def get(self, name: str, version: int | None = None) -> ModelVersion:
        """One version of name (the latest when version is None), downloaded to the cache."""
        check_name(name)
        numbers = self._numbers(name)
        if not numbers:
            raise ModelNotFound(f"no model named {name!r} is registered; run `candlecast train`")
        if version is None:
            version = numbers[-1]
        elif version not in numbers:
            raise ModelNotFound(
                f"model {name!r} has no version {version}; registered versions: {numbers}"
            )
        return self._materialise(name, version)

    def list(self, name: str | None = None) -> list[ModelVersion]:
        """Every published version (of one name, or of all names), oldest first per name; each
        is downloaded (once) so that `path` holds its bundle, as in the local registry."""
        return [self._materialise(v.name, v.version) for v in self._described(name)]

    def best(
        self,
        metric: str = SERVED_METRIC,
        *,
        direction: str = "max",
        where: Mapping[str, Any] | None = None,
    ) -> ModelVersion:
        """The version with the lowest (or highest) metric among those matching `where`; only
        the chosen one is downloaded."""
        if direction not in ("min", "max"):
            raise ValueError(f"direction must be 'min' or 'max', got {direction!r}")
        chosen = pick_best(self._described(None), metric, direction=direction, where=where)
        return self._materialise(chosen.name, chosen.version)

    def _described(self, name: str | None) -> list[ModelVersion]:
        """Every version as its marker describes it, without its files."""
        names = [name] if name is not None else self._names()
        return [
            version_of(model, number, self._marker(model, number))
            for model in names
            if is_model_name(model)
            for number in self._numbers(model)
        ]

    def _publish(self, name: str, marker: dict[str, Any]) -> int:
        """Put the marker under the next free number; a rival's number makes it try the next."""
        from botocore.exceptions import ClientError

        body = json.dumps(marker, indent=2, sort_keys=True).encode()
        for _ in range(MAX_ATTEMPTS):
            version = max(self._numbers(name), default=0) + 1
            try:
                self._s3.put_object(
                    Bucket=self.bucket,
                    Key=self._key(name, "versions", f"{version}.json"),
                    Body=body,
                    IfNoneMatch="*",
                    ContentType="application/json",
                )
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") not in _LOST_RACE:
                    raise
                continue
            with self._lock:
                self._markers[self._key(name, "versions", f"{version}.json")] = marker
            return version
        raise StoreError(f"could not find a free version number for {name} in {self.uri}; retry")

    def _materialise(self, name: str, version: int) -> ModelVersion:
        """The version with its bundle in the local cache (downloaded the first time)."""
        marker = self._marker(name, version)
        folder = self.cache / name / f"{version}-{marker['token']}"
        if not (folder / VERSION_FILE).exists():
            self._download(name, marker, folder)
        return read_version(name, version, folder)

    def _download(self, name: str, marker: Mapping[str, Any], folder: Path) -> None:
        staging = folder.with_name(f".{folder.name}-{uuid.uuid4().hex}")
        try:
            with self._errors(f"download {name} from {self.uri}"):
                for relative in marker["files"]:
                    target = staging / relative
                    target.parent.mkdir(parents=True, exist_ok=True)
                    key = self._key(name, "bundles", marker["token"], relative)
                    self._s3.download_file(self.bucket, key, str(target))
            record = {k: marker[k] for k in ("created", "metrics", "metadata")}
            staging.mkdir(parents=True, exist_ok=True)
            (staging / VERSION_FILE).write_text(json.dumps(record, indent=2, sort_keys=True))
            with contextlib.suppress(OSError):  # another process put the same version there first
                staging.rename(folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _marker(self, name: str, version: int) -> dict[str, Any]:
        key = self._key(name, "versions", f"{version}.json")
        with self._lock:
            if key in self._markers:
                return self._markers[key]
        with self._errors(f"read {name} version {version} from {self.uri}"):
            body = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        try:
            marker = json.loads(body)
        except json.JSONDecodeError:
            raise StoreError(
                f"s3://{self.bucket}/{key} is not a version marker (not JSON); remove it"
            ) from None
        with self._lock:
            self._markers[key] = marker
        return marker

    def _numbers(self, name: str) -> list[int]:
        """The published version numbers of name, in order."""
        stems = (PurePosixPath(key).stem for key in self._keys(self._key(name, "versions", "")))
        return sorted(int(stem) for stem in stems if stem.isdigit())

    def _names(self) -> list[str]:
        with self._errors(f"list the models in {self.uri}"):
            pages = self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self._key(""), Delimiter="/"
            )
            folders = [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])]
        return sorted(folder.rstrip("/").rsplit("/", 1)[-1] for folder in folders)

    def _keys(self, prefix: str) -> list[str]:
        with self._errors(f"list s3://{self.bucket}/{prefix}"):
            pages = self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def _key(self, *parts: str) -> str:
        """The object key of parts under the prefix ("" as the last part ends it with /)."""
        return "/".join((self.prefix, *parts) if self.prefix else parts)

    @contextlib.contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Turn botocore's errors into one StoreError line saying what failed and what to check."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _LOST_RACE:
                raise
            raise StoreError(
                f"could not {doing}: {error}; check CANDLECAST_REGISTRY_URI and that the AWS "
                "credentials may list, read and write it"
            ) from None
        except BotoCoreError as error:
            raise StoreError(
                f"could not {doing}: {error}; check CANDLECAST_REGISTRY_URI, AWS_ENDPOINT_URL "
                "and the network"
            ) from None


def _put_file(client: Any, bucket: str, key: str, path: Path) -> None:
    """Upload one file of a bundle."""
    client.upload_file(str(path), bucket, key)
