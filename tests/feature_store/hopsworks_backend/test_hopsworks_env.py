"""The hopsworks environment: which `deltalake` is installed, and the local adapter works in it.

hopsworks[python] pulls `hops-deltalake`, which installs into the same `deltalake/` folder as
`deltalake`. pip installs hops-deltalake first (it is deeper in the dependency graph), so the
files of `deltalake` win; only hops-deltalake's bundled libhdfs stays behind.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import importlib.metadata
from pathlib import Path

import pandas as pd
from store_adapters import candle_frame

from feature_pipeline.groups import CANDLES


def intact_files(distribution: str) -> tuple[int, list[str]]:
    """(files of the distribution's deltalake module as installed, files another one replaced)."""
    dist = importlib.metadata.distribution(distribution)
    record = dist.read_text("RECORD") or ""
    intact, replaced = 0, []
    for path, digest, _ in csv.reader(record.splitlines()):
        if not path.startswith("deltalake") or not digest:
            continue
        algorithm, expected = digest.split("=", 1)
        data = Path(dist.locate_file(path)).read_bytes()
        actual = base64.urlsafe_b64encode(hashlib.new(algorithm, data).digest()).rstrip(b"=")
        if actual.decode() == expected:
            intact += 1
        else:
            replaced.append(path)
    return intact, replaced


def test_the_deltalake_module_is_deltalakes_own() -> None:
    """It finds every deltalake file intact and hops-deltalake's Python and Rust code replaced."""
    import deltalake

    own_intact, own_replaced = intact_files("deltalake")
    assert own_intact > 20 and own_replaced == []
    _, hops_replaced = intact_files("hops-deltalake")
    assert "deltalake/_internal.abi3.so" in hops_replaced
    assert "deltalake/table.py" in hops_replaced
    assert deltalake.__version__ == importlib.metadata.version("deltalake")


def test_the_local_adapter_works_here(tmp_path: Path) -> None:
    """It imports the local store and round-trips a Delta table with the installed deltalake."""
    from feature_store.local import LocalFeatureStore

    store = LocalFeatureStore(str(tmp_path / "store"))
    frame = candle_frame(n=5)
    store.upsert(CANDLES, frame)
    result = store.upsert(CANDLES, frame.assign(close=frame["close"] + 1.0))
    stored = store.read(CANDLES)
    assert (result.updated, store.table_version(CANDLES)) == (5, 2)
    pd.testing.assert_series_equal(stored["close"], frame["close"] + 1.0, check_names=False)
