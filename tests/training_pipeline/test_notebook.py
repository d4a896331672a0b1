"""The Colab notebook executes end to end (offline, CPU) with a tiny configuration."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "training_pipeline" / "train_colab.ipynb"


def tiny_parameters(data_dir: Path, home: Path) -> str:
    return "\n".join(
        [
            'REPO_URL = "unused"',
            'SYMBOL = "BTCUSDT"',
            'INTERVAL = "1d"',
            'MODELS = "mlp"',
            "QUICK = True",
            "MAX_TRIALS = 1",
            "EPOCHS = 2",
            f'SOURCE = "csv:{data_dir / "BTCUSDT_1d.csv"}"',
            f'HOME = "{home}"',
            "MIXED_PRECISION = False",
            'CONFIG_OVERRIDES = {"windows": (5,), "val_size": 120, "selection_size": 120, '
            '"test_size": 120}',
        ]
    )


@pytest.mark.slow
def test_notebook_runs_end_to_end(data_dir: Path, tmp_path: Path) -> None:
    """It backfills from CSV, trains, selects, registers and forecasts without a Colab install."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    parameters = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(parameters) == 1, "the notebook needs exactly one cell tagged 'parameters'"
    parameters[0].source = tiny_parameters(data_dir, tmp_path / "home")
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={}).execute()

    outputs = "".join(
        out.get("text", "") + str(out.get("data", {}).get("text/plain", ""))
        for cell in notebook.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    )
    assert "running locally" in outputs
    assert "served: btcusdt-1d-" in outputs and "the selection period" in outputs
    assert "walk-forward over 120 origins of the test period" in outputs
    assert "median_close" in outputs
    assert (tmp_path / "home" / "registry" / "btcusdt-1d-mlp" / "1" / "model.keras").exists()
