"""Where the local store's tables live: a folder or an s3:// prefix, and how to reach it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pyarrow.fs as pafs


def is_remote(uri: str) -> bool:
    """True for s3:// URIs, False for local paths."""
    return urlparse(uri).scheme in ("s3", "s3a")


def normalise_uri(uri: str) -> str:
    """An absolute local path, or the s3:// URI without a trailing slash."""
    return uri.rstrip("/") if is_remote(uri) else str(Path(uri).expanduser().resolve())


def table_uri(root: str, table_name: str) -> str:
    """The location of one table under the store root."""
    return f"{root}/{table_name}" if is_remote(root) else str(Path(root) / table_name)


def s3_options(aws: Mapping[str, str]) -> dict[str, str]:
    """deltalake storage options from the standard AWS variables (`Settings.aws_storage`)."""
    options = dict(aws)
    if "AWS_ENDPOINT_URL_S3" in options:
        options["AWS_ENDPOINT_URL"] = options.pop("AWS_ENDPOINT_URL_S3")
    if "AWS_DEFAULT_REGION" in options:
        options.setdefault("AWS_REGION", options.pop("AWS_DEFAULT_REGION"))
    options.setdefault("AWS_REGION", "us-east-1")
    if options.get("AWS_ENDPOINT_URL", "").startswith("http://"):
        options["AWS_ALLOW_HTTP"] = "true"  # a local stand-in such as moto's server
    return options


def list_table_names(root: str, storage_options: Mapping[str, str]) -> list[str]:
    """Names of the folders under root that hold a Delta log."""
    if not is_remote(root):
        base = Path(root)
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if (p / "_delta_log").is_dir())
    filesystem, prefix = _s3_filesystem(root, storage_options)
    selector = pafs.FileSelector(prefix, allow_not_found=True)
    folders = [
        i.base_name for i in filesystem.get_file_info(selector) if i.type == pafs.FileType.Directory
    ]
    return sorted(
        name
        for name in folders
        if filesystem.get_file_info(f"{prefix}/{name}/_delta_log").type != pafs.FileType.NotFound
    )


def _s3_filesystem(root: str, options: Mapping[str, str]) -> tuple[pafs.S3FileSystem, str]:
    parsed = urlparse(root)
    endpoint = options.get("AWS_ENDPOINT_URL")
    endpoint_parsed = urlparse(endpoint) if endpoint else None
    filesystem = pafs.S3FileSystem(
        access_key=options.get("AWS_ACCESS_KEY_ID"),
        secret_key=options.get("AWS_SECRET_ACCESS_KEY"),
        session_token=options.get("AWS_SESSION_TOKEN"),
        region=options.get("AWS_REGION", "us-east-1"),
        endpoint_override=endpoint_parsed.netloc if endpoint_parsed else None,
        scheme=endpoint_parsed.scheme if endpoint_parsed else "https",
    )
    return filesystem, f"{parsed.netloc}{parsed.path}".rstrip("/")


def split_s3_uri(uri: str) -> tuple[str, str]:
    """('bucket', 'prefix') of s3://bucket/prefix (the prefix without slashes at its ends)."""
    parsed = urlparse(uri)
    return parsed.netloc, parsed.path.strip("/")


def s3_client(aws: Mapping[str, str]) -> Any:
    """A boto3 S3 client from the standard AWS variables (`Settings.aws_storage`); what they
    leave unset comes from boto3's own chain (an instance role, ~/.aws)."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=aws.get("AWS_ENDPOINT_URL_S3") or aws.get("AWS_ENDPOINT_URL"),
        region_name=aws.get("AWS_REGION") or aws.get("AWS_DEFAULT_REGION") or "us-east-1",
        aws_access_key_id=aws.get("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=aws.get("AWS_SECRET_ACCESS_KEY"),
        aws_session_token=aws.get("AWS_SESSION_TOKEN"),
    )
