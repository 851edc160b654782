"""The references bnnkit's generated C is compared with, on the same
flatbuffer: LCE's own TFLite interpreter (models with LCE ops, float models),
and TensorFlow's interpreter with TFLite's reference kernels (BUILTIN_REF: the
arithmetic of TFLite Micro and CMSIS-NN) for int8 models without LCE ops
(:func:`bnnkit.lower.choose_reference`)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np


def lce_interpreter(flatbuffer: bytes | str | Path):
    """An ``larq_compute_engine.testing.Interpreter`` (one thread, as on a device)."""
    from . import tfenv  # noqa: F401  (quiet logs)
    from larq_compute_engine import testing

    if not isinstance(flatbuffer, bytes):
        flatbuffer = Path(flatbuffer).read_bytes()
    return testing.Interpreter(flatbuffer, num_threads=1)


def lce_predict(flatbuffer, x: np.ndarray, progress=None, timing: dict | None = None,
                ready=None) -> np.ndarray:
    """Output scores for each image in ``x`` (N, ...), one inference each.

    ``progress`` is called with the number of images done after each one;
    ``ready`` (e.g. a progress bar's ``reset``) once the interpreter is built and
    warmed up, so that a bar's rate is the inferences' and not the set-up's. If
    ``timing`` is a dict, ``timing["seconds"]`` receives the time spent in the
    interpreter's predict calls alone: after one warm-up call, without loading
    TensorFlow, building the interpreter or the progress bar, so that it
    compares fairly with the generated C's own inference time.
    """
    return _predict_each(lce_interpreter(flatbuffer).interpreter.predict, x, progress, timing,
                         ready)


def _predict_each(predict, x: np.ndarray, progress=None, timing: dict | None = None,
                  ready=None) -> np.ndarray:
    if len(x):
        predict([x[:1]])  # warm-up: first-call allocations are not per-image cost
    if ready:
        ready()
    outs, seconds = [], 0.0
    for i in range(len(x)):
        image = [x[i:i + 1]]
        t0 = time.perf_counter()
        out = predict(image)
        seconds += time.perf_counter() - t0
        outs.append(out[0])
        if progress:
            progress(1)
    if timing is not None:
        timing["seconds"] = seconds
    return np.concatenate(outs) if outs else np.zeros((0,), np.float32)


class _TfliteReference:
    """TensorFlow's interpreter with TFLite's reference kernels, behind the
    ``predict([x])`` interface of LCE's testing interpreter (one input, one
    output)."""

    def __init__(self, flatbuffer: bytes):
        from .tfenv import tf

        self.interp = tf.lite.Interpreter(
            model_content=flatbuffer, num_threads=1,
            experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF)
        self.interp.allocate_tensors()
        self.input = self.interp.get_input_details()[0]["index"]
        self.output = self.interp.get_output_details()[0]["index"]

    def predict(self, inputs):
        self.interp.set_tensor(self.input, inputs[0])
        self.interp.invoke()
        return [self.interp.get_tensor(self.output).copy()]


def reference_predict(reference: str, flatbuffer, x: np.ndarray, progress=None,
                      timing: dict | None = None, ready=None) -> np.ndarray:
    """:func:`lce_predict` with ``reference``'s interpreter: "lce" (LCE's) or
    "tflite" (TFLite's reference kernels, BUILTIN_REF).

    Example:
        >>> reference_predict("tflite", open("kws_ref_model.tflite", "rb").read(), x)  # doctest: +SKIP
    """
    if reference == "lce":
        return lce_predict(flatbuffer, x, progress, timing, ready)
    if not isinstance(flatbuffer, bytes):
        flatbuffer = Path(flatbuffer).read_bytes()
    interp = _TfliteReference(flatbuffer)
    return _predict_each(interp.predict, x, progress, timing, ready)
