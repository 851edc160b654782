"""The reference: LCE's own TFLite interpreter on the same flatbuffer."""

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
    interp = lce_interpreter(flatbuffer)
    predict = interp.interpreter.predict
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
