"""The reference: LCE's own TFLite interpreter on the same flatbuffer."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def lce_interpreter(flatbuffer: bytes | str | Path):
    """An ``larq_compute_engine.testing.Interpreter`` (one thread, as on a device)."""
    from . import tfenv  # noqa: F401  (quiet logs)
    from larq_compute_engine import testing

    if not isinstance(flatbuffer, bytes):
        flatbuffer = Path(flatbuffer).read_bytes()
    return testing.Interpreter(flatbuffer, num_threads=1)


def lce_predict(flatbuffer, x: np.ndarray, progress=None) -> np.ndarray:
    """Output scores for each image in ``x`` (N, ...), one inference each.

    ``progress`` is called with the number of images done after each one.
    """
    interp = lce_interpreter(flatbuffer)
    outs = []
    for i in range(len(x)):
        outs.append(interp.interpreter.predict([x[i:i + 1]])[0])
        if progress:
            progress(1)
    return np.concatenate(outs) if outs else np.zeros((0,), np.float32)
