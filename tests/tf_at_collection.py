"""A pytest plugin for test_imports.py: report whether collecting the suite imported TensorFlow."""

import sys


def pytest_collection_finish(session) -> None:
    loaded = sorted(m for m in ("tensorflow", "keras", "keras_tuner") if m in sys.modules)
    print(f"\nframeworks loaded at collection: {loaded}")
