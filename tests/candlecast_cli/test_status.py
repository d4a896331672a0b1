"""`candlecast status`: the JSON document other tools read, and the readable table."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from candlecast_cli.app import main
from feature_pipeline.groups import CANDLES
from feature_store.base import SERVED_METRIC
from feature_store.local import LocalFeatureStore
from feature_store.local_registry import LocalModelRegistry


def _candles(symbol: str, start: str, n: int) -> pd.DataFrame:
    open_time = pd.date_range(start, periods=n, freq="D", tz="UTC")
    close = np.linspace(100, 200, n)
    return pd.DataFrame(
        {
            "symbol": symbol,
            "interval": "1d",
            "open_time": open_time,
            "close_time": open_time + pd.Timedelta(days=1) - pd.Timedelta("1ms"),
            "open": close,
            "high": close + 1,
            "low": close - 1,
            "close": close,
            "volume": 1.0,
            "quote_volume": 2.0,
            "trades": 3,
        }
    )


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CANDLECAST_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _status_json(capsys: pytest.CaptureFixture[str]) -> dict:
    assert main(["status", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_it_reports_an_empty_store(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """It prints the store location and empty lists, and creates nothing."""
    document = _status_json(capsys)
    assert document == {
        "store": {"backend": "local", "uri": str((home / "store").resolve())},
        "feature_groups": [],
        "models": [],
        "served": [],
    }
    assert not home.exists()


def test_it_reports_groups_series_and_the_best_models(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It lists each group's series and every model, marking the served one per series."""
    store = LocalFeatureStore(str(home / "store"))
    store.upsert(CANDLES, _candles("BTCUSDT", "2024-01-01", 30))
    store.upsert(CANDLES, _candles("ETHUSDT", "2024-01-10", 5))
    registry = LocalModelRegistry(home / "registry")
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "model.keras").write_text("w")
    for name, run, symbol, role in [
        ("lstm", 100.0, "BTCUSDT", "served"),
        ("mlp", 200.0, "BTCUSDT", "served"),
        ("mlp", None, "BTCUSDT", "candidate"),
        ("mlp", 150.0, "ETHUSDT", "served"),
    ]:
        metrics = {"sel_mae_ratio": 0.98, "mae": 2.0}
        registry.register(
            name,
            bundle,
            metrics if run is None else {**metrics, SERVED_METRIC: run},
            {"symbol": symbol, "interval": "1d", "role": role, "kind": name},
        )

    document = _status_json(capsys)

    (group,) = document["feature_groups"]
    assert set(group) == {"name", "version", "rows", "fingerprint", "series"}
    assert (group["name"], group["version"], group["rows"]) == ("candles", 1, 35)
    assert group["fingerprint"] == store.fingerprint(CANDLES)
    assert group["series"] == [
        {"symbol": "BTCUSDT", "interval": "1d", "rows": 30,
         "first": "2024-01-01T00:00:00Z", "last": "2024-01-30T00:00:00Z"},
        {"symbol": "ETHUSDT", "interval": "1d", "rows": 5,
         "first": "2024-01-10T00:00:00Z", "last": "2024-01-14T00:00:00Z"},
    ]  # fmt: skip
    models = {(m["name"], m["version"]): m for m in document["models"]}
    assert set(models) == {("mlp", 1), ("mlp", 2), ("mlp", 3), ("lstm", 1)}
    keys = {"name", "version", "created", "kind", "role", "trained_until", "metrics", "best"}
    assert all(set(m) == keys for m in models.values())
    assert sorted(k for k, m in models.items() if m["best"]) == [("mlp", 1), ("mlp", 3)]
    assert models["lstm", 1]["metrics"] == {"sel_mae_ratio": 0.98, "mae": 2.0, SERVED_METRIC: 100}
    assert datetime.fromisoformat(models["mlp", 1]["created"]).utcoffset().total_seconds() == 0

    assert main(["status"]) == 0
    table = capsys.readouterr().out
    assert "candles v1: 35 rows" in table and "ETHUSDT" in table and "lstm" in table


def test_the_installed_command_prints_json(home: Path) -> None:
    """It runs as the `candlecast` console script and exits 0."""
    script = Path(sys.executable).with_name("candlecast")
    done = subprocess.run([str(script), "status", "--json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["store"]["backend"] == "local"


def test_it_fails_cleanly_on_bad_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """It prints one error line (no traceback) and exits 1 when a setting is invalid."""
    monkeypatch.setenv("CANDLECAST_STORE", "sqlite")
    assert main(["status"]) == 1
    err = capsys.readouterr().err
    assert "use one of: local, hopsworks" in err
    assert "Traceback" not in err
