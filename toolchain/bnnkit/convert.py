"""Keras ``.h5`` -> TFLite flatbuffer with larq-compute-engine's converter."""

from __future__ import annotations

import shutil
from pathlib import Path

from . import metadata
from .errors import BnnkitError

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def load_keras(path: str | Path):
    """Load a Larq/bnnkit ``.h5`` with every custom object registered."""
    path = Path(path)
    if not path.is_file():
        raise BnnkitError(f"{path}: no such file")
    with open(path, "rb") as f:
        head = f.read(8)
    if head != HDF5_MAGIC:
        raise BnnkitError(f"{path}: not an HDF5 file (a Keras .h5 model was expected)")
    from .tfenv import keras
    from .zoo import custom_objects

    try:
        with keras.utils.custom_object_scope(custom_objects()):
            return keras.models.load_model(path, compile=False)
    except Exception as exc:  # h5py/keras raise many types for damaged files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BnnkitError(f"{path}: cannot load the Keras model ({first[:200]})") from None


def convert_model(model, source: str = "<model>") -> bytes:
    """Run LCE's converter on a Keras model; unsupported ops become a BnnkitError."""
    import os

    from larq_compute_engine import convert_keras_model

    # The MLIR converter writes diagnostics to fd 2 from C++; keep them for the error.
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            return convert_keras_model(model)
        except Exception as exc:
            msg = " ".join(str(exc).split())
            ops = sorted(set(_unsupported_ops(str(exc))))
            detail = f"unsupported ops: {', '.join(ops)}" if ops else msg[:300]
            raise BnnkitError(f"{source}: LCE cannot convert this model ({detail})") from None
        finally:
            os.dup2(saved, 2)
            os.close(saved)


LCE_CUSTOM_OPS = ("LceQuantize", "LceDequantize", "LceBconv2d", "LceBMaxPool2d")


def check_ops(flatbuffer: bytes, source: str) -> None:
    """LCE leaves TensorFlow ops it cannot lower as custom ops that no runtime
    has; refuse them by name rather than write a file nothing can run."""
    from .tflite_reader import parse_tflite

    graph = parse_tflite(flatbuffer, source)
    unknown = sorted({op.type for op in graph.ops if op.custom and op.type not in LCE_CUSTOM_OPS})
    if unknown:
        raise BnnkitError(f"{source}: LCE cannot convert these ops to TFLite or LCE kernels: "
                          f"{', '.join(unknown)}")


def _unsupported_ops(message: str) -> list:
    import re

    return re.findall(r"'(tf\.\w+)' op is neither a custom op nor a flex op", message) + \
        re.findall(r"op '(\w+)' is not supported", message)


def convert(model_path: str | Path, output: str | Path | None = None) -> Path:
    """Convert ``model_path`` (.h5) and write the flatbuffer; copy the sidecar beside it."""
    model_path = Path(model_path)
    out = Path(output) if output else model_path.with_suffix(".tflite")
    if out.suffix != ".tflite":
        raise BnnkitError(f"{out}: output must end in .tflite")
    model = load_keras(model_path)
    flatbuffer = convert_model(model, str(model_path))
    check_ops(flatbuffer, str(model_path))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    try:
        tmp.write_bytes(flatbuffer)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    src_meta = metadata.sidecar_path(model_path)
    dst_meta = metadata.sidecar_path(out)
    if src_meta.is_file() and src_meta.resolve() != dst_meta.resolve():
        shutil.copyfile(src_meta, dst_meta)
    return out
