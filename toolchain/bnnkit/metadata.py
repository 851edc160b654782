"""Model sidecars: ``model.json`` beside ``model.h5`` / ``model.tflite``.

The sidecar says how raw pixels become input, which dataset and classes the model
knows, how it was trained and what accuracy Keras measured.
"""

from __future__ import annotations

import json
from pathlib import Path

from .errors import BnnkitError
from . import preprocess


def sidecar_path(model_path: str | Path) -> Path:
    return Path(model_path).with_suffix(".json")


def load(model_path: str | Path, required: bool = False) -> dict:
    """Read the sidecar of ``model_path``. Without one (and not ``required``) the
    model takes its own float32 input, unchanged, and knows no dataset."""
    path = sidecar_path(model_path)
    if not path.is_file():
        if required:
            raise BnnkitError(f"{path}: sidecar not found (it is written by 'bnnkit train')")
        return {"preprocessing": dict(preprocess.FLOAT_INPUT), "assumed": True}
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BnnkitError(f"{path}: corrupt sidecar ({exc})") from None
    if not isinstance(meta, dict) or "preprocessing" not in meta:
        raise BnnkitError(f"{path}: sidecar has no 'preprocessing' entry")
    preprocess.check(meta["preprocessing"], str(path))
    names = meta.get("class_names")
    if names is not None and (not isinstance(names, list)
                              or not all(isinstance(n, str) for n in names)):
        raise BnnkitError(f"{path}: 'class_names' must be a list of strings")
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
