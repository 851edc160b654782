"""Model sidecars: ``model.json`` beside ``model.h5`` / ``model.tflite``.

The sidecar says how raw pixels become input, which dataset and classes the model
knows, how it was trained and what accuracy Keras measured.
"""

from __future__ import annotations

import json
from pathlib import Path

from .errors import BnnkitError
from .preprocess import UNIT_SCALE


def sidecar_path(model_path: str | Path) -> Path:
    return Path(model_path).with_suffix(".json")


def load(model_path: str | Path, required: bool = False) -> dict:
    """Read the sidecar of ``model_path``; without one, assume a Fashion-MNIST
    model fed pixels scaled to 0..1 (Larq's usual) unless ``required``."""
    path = sidecar_path(model_path)
    if not path.is_file():
        if required:
            raise BnnkitError(f"{path}: sidecar not found (it is written by 'bnnkit train')")
        return {"dataset": "fashion-mnist", "preprocessing": UNIT_SCALE, "assumed": True}
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BnnkitError(f"{path}: corrupt sidecar ({exc})") from None
    if not isinstance(meta, dict) or "preprocessing" not in meta:
        raise BnnkitError(f"{path}: sidecar has no 'preprocessing' entry")
    return meta


def write(path: str | Path, meta: dict) -> None:
    """Write atomically (temp file then rename), keys sorted for stable diffs."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)


def package_versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("bnnkit", "tensorflow", "tf-keras", "larq", "larq-compute-engine", "numpy"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out
