"""The networks' runtimes: ONNX Runtime for serving, a traced Keras call right after training.

A registered network is served from its `model.onnx` with onnxruntime, so the app, the CLI's
forecast and evaluate, and the Lambda never import TensorFlow. Training exports that file from
the Keras model (`export_onnx`, which needs the train extra) and checks that both give the same
forecasts before the bundle is written.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from candlecast.errors import ModelNotFound, ValidationError

Forecaster = Callable[[np.ndarray], np.ndarray]
# Largest difference allowed between the exported ONNX graph and the Keras model on the same
# inputs: float32 arithmetic in a different order, relative to outputs of order 1.
RTOL, ATOL = 1e-5, 1e-6
OPSET = 17


def onnx_forecaster(path: Path) -> Forecaster:
    """A thread-safe function (n, window, features) float32 -> (n, horizon, 3) from `path`."""
    if not path.exists():
        raise ModelNotFound(f"{path} does not exist; retrain the model with `candlecast train`")
    try:
        import onnxruntime as ort
    except ImportError:
        raise ModelNotFound(
            "serving a network needs onnxruntime; install candlecast with the app, lambda or "
            "train extra (pip install 'candlecast[app]')"
        ) from None
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # a few thousand weights: one thread is fastest
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name

    def forecast(inputs: np.ndarray) -> np.ndarray:
        return session.run(None, {name: np.asarray(inputs, dtype=np.float32)})[0]

    return forecast


def keras_forecaster(model: Any) -> Forecaster:
    """One traced inference function per Keras model (fixed signature: any batch size).

    Kept on the model itself (outside Keras' attribute tracking), so bundle copies share it.
    """
    function = model.__dict__.get("_candlecast_forecast")
    if function is None:
        import tensorflow as tf

        spec = tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)
        traced = tf.function(lambda x: model(x, training=False), input_signature=[spec])
        lock = threading.Lock()  # tracing is not thread-safe; the traced call is cheap

        def function(inputs: np.ndarray) -> np.ndarray:
            with lock:
                return np.asarray(traced(np.asarray(inputs, dtype=np.float32)))

        object.__setattr__(model, "_candlecast_forecast", function)
    return function


def export_onnx(model: Any, path: Path, *, seed: int = 0) -> dict[str, Any]:
    """Write the Keras model as ONNX to `path` and prove both forecast the same; the proof.

    Raises ValidationError when the two disagree beyond RTOL / ATOL on random inputs.
    """
    shape = model.input_shape[1:]
    probe = np.random.default_rng(seed).normal(size=(16, *shape)).astype(np.float32)
    expected = np.asarray(model(probe, training=False))  # also builds a model never called
    model.export(str(path), format="onnx", verbose=False, opset_version=OPSET)
    got = onnx_forecaster(path)(probe)
    if got.shape != expected.shape or not np.allclose(got, expected, rtol=RTOL, atol=ATOL):
        raise ValidationError(
            f"the ONNX export of {model.name} forecasts differently from the Keras model "
            f"(largest difference {np.max(np.abs(got - expected)):.3g}); nothing was registered"
        )
    return {"opset": OPSET, "max_abs_difference": float(np.max(np.abs(got - expected)))}
