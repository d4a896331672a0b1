"""Feature group schemas in Hopsworks terms: Arrow <-> offline types, specs read back."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from candlecast.errors import StoreError, ValidationError
from feature_store.base import FeatureGroupSpec

# Arrow type -> Hopsworks offline (Hive) type, and back.
_TYPES: tuple[tuple[pa.DataType, str], ...] = (
    (pa.string(), "string"),
    (pa.timestamp("us", tz="UTC"), "timestamp"),
    (pa.float64(), "double"),
    (pa.float32(), "float"),
    (pa.int64(), "bigint"),
    (pa.int32(), "int"),
    (pa.bool_(), "boolean"),
    (pa.date32(), "date"),
)
# Hopsworks features have no NOT NULL constraint; the feature description carries it.
NOT_NULL = "not null"


def hopsworks_features(spec: FeatureGroupSpec) -> list[Any]:
    """The spec's columns as Hopsworks `Feature`s (offline type, key flags, NOT NULL note)."""
    from hsfs.feature import Feature

    return [
        Feature(
            name=field.name,
            type=hopsworks_type(field.type),
            description=NOT_NULL if not field.nullable else "",
            primary=field.name in spec.primary_key,
            partition=field.name in spec.partition_by,
        )
        for field in spec.schema
    ]


def hopsworks_type(data_type: pa.DataType) -> str:
    """The Hopsworks offline type of an Arrow type; raises ValidationError for others."""
    for arrow, hive in _TYPES:
        if data_type.equals(arrow) or (pa.types.is_timestamp(data_type) and hive == "timestamp"):
            return hive
    raise ValidationError(
        f"Arrow type {data_type} has no Hopsworks equivalent here; use one of "
        f"{[str(a) for a, _ in _TYPES]}"
    )


def spec_from_group(group: Any) -> FeatureGroupSpec | None:
    """A FeatureGroupSpec read back from a Hopsworks feature group (None if not ours)."""
    arrow = {hive: a for a, hive in _TYPES}
    fields = []
    for feature in group.features:
        if feature.type not in arrow:
            return None
        fields.append(
            pa.field(feature.name, arrow[feature.type], nullable=feature.description != NOT_NULL)
        )
    if not group.primary_key or not group.event_time:
        return None
    try:
        return FeatureGroupSpec(
            name=group.name,
            version=int(group.version),
            schema=pa.schema(fields),
            primary_key=tuple(group.primary_key),
            event_time=group.event_time,
            partition_by=tuple(group.partition_key or ()),
            description=group.description or "",
        )
    except ValueError:
        return None


def check_same_schema(spec: FeatureGroupSpec, group: Any) -> None:
    """Raise StoreError unless the stored group has the spec's columns, types and keys."""
    stored = spec_from_group(group)
    wanted = (spec.schema.remove_metadata(), spec.primary_key, spec.event_time)
    if stored is None or (stored.schema, stored.primary_key, stored.event_time) != wanted:
        found = "unreadable" if stored is None else f"{stored.schema}, key {stored.primary_key}"
        raise StoreError(
            f"feature group {spec.table_name} exists with another schema:\n  stored: {found}\n"
            f"  wanted: {spec.schema}, key {spec.primary_key}\n"
            "bump the group's version to change its schema"
        )
