"""What importing costs: collecting the suite and the serving paths load no TensorFlow."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).parent


def test_collecting_the_suite_imports_no_tensorflow() -> None:
    """It collects every test without TensorFlow or Keras: only tests that train load them."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "tf_at_collection"],
        cwd=TESTS.parent,
        env={"PYTHONPATH": str(TESTS), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "frameworks loaded at collection: []" in done.stdout
