"""Model sidecars: ``model.json`` beside ``model.h5`` / ``model.tflite``.

The sidecar says how raw pixels become input, which dataset and classes the model
knows, how it was trained and what accuracy Keras measured.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from .errors import BnnkitError, one_line
from . import preprocess


def sidecar_path(model_path: str | Path) -> Path:
    return Path(model_path).with_suffix(".json")


MAX_CLASS_NAME = 200  # characters of one class name


class ClassNames(list):
    """Class names read from a file; ``source`` names it in errors."""

    source = ""


def read_class_names(path) -> list[str]:
    """Class names from a text file, one per line in the model's output order
    (``--class-names``); empty lines at the end are ignored.

    Example:
        >>> read_class_names("labels.txt")  # doctest: +SKIP
        ['yes', 'no', 'up', 'down', ...]
    """
    path = Path(path)
    if not path.is_file():
        raise BnnkitError(f"{path}: no such file (--class-names takes a text file)")
    if path.stat().st_size > MAX_SIDECAR_BYTES:
        raise BnnkitError(f"{path}: over {MAX_SIDECAR_BYTES:,} bytes: not a list of class names")
    try:
        lines = path.read_bytes().decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise BnnkitError(f"{path}: not UTF-8 text") from None
    while lines and not lines[-1].strip():
        lines.pop()
    names = [line.strip() for line in lines]
    for i, name in enumerate(names, 1):
        if not name or len(name) > MAX_CLASS_NAME:
            raise BnnkitError(f"{path}: line {i}: a class name of 1 to {MAX_CLASS_NAME} "
                              "characters is needed")
    if not names:
        raise BnnkitError(f"{path}: no class names")
    out = ClassNames(names)
    out.source = str(path)
    return out


def check_sidecar_slot(model_path: str | Path, option: str = "-o") -> None:
    """Refuse an output ``model_path`` whose sidecar name holds a JSON file that
    is not a model sidecar: writing the model would replace it. A sidecar (an
    earlier run's) is replaced with its model, as expected.

    Example:
        >>> check_sidecar_slot("settings.tflite")  # doctest: +SKIP
        Traceback (most recent call last):
        bnnkit.errors.BnnkitError: -o settings.tflite: settings.json is not a model sidecar and writing the model would replace it; choose another name or move it away
    """
    path = sidecar_path(model_path)
    if not path.exists() and not path.is_symlink():
        return
    try:
        if path.is_symlink() or not path.is_file():
            raise BnnkitError("not a regular file")
        load(model_path)
    except BnnkitError:
        raise BnnkitError(f"{option} {model_path}: {path} is not a model sidecar and writing "
                          "the model would replace it; choose another name or move it away") from None


def load(model_path: str | Path, required: bool = False) -> dict:
    """Read the sidecar of ``model_path``. Without one (and not ``required``) the
    model takes its own float32 input, unchanged, and knows no dataset."""
    path = sidecar_path(model_path)
    if not path.is_file():
        if required:
            raise BnnkitError(f"{path}: sidecar not found (it is written by 'bnnkit train')")
        return {"preprocessing": dict(preprocess.FLOAT_INPUT), "assumed": True}
    if not path.is_file() or path.stat().st_size > MAX_SIDECAR_BYTES:
        raise BnnkitError(f"{path}: not a sidecar (a regular file of at most "
                          f"{MAX_SIDECAR_BYTES:,} bytes)")
    try:
        meta = json.loads(path.read_text(), parse_constant=_no_constant)
    except RecursionError:
        raise BnnkitError(f"{path}: corrupt sidecar (nested too deeply)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise BnnkitError(f"{path}: corrupt sidecar ({one_line(str(exc))[:160]})") from None
    _check_text(meta, str(path))
    return validate(meta, str(path))


MAX_SIDECAR_BYTES = 1 << 20
MAX_SIDECAR_DEPTH = 32


def _check_text(meta, source: str) -> None:
    """Every string of a sidecar is Unicode text (no lone surrogate such as
    \\ud800, which no encoder writes) and it nests at most MAX_SIDECAR_DEPTH deep."""
    stack = [(meta, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_SIDECAR_DEPTH:
            raise BnnkitError(f"{source}: nested over {MAX_SIDECAR_DEPTH} levels deep")
        if isinstance(value, dict):
            stack += [(k, depth + 1) for k in value] + [(v, depth + 1) for v in value.values()]
        elif isinstance(value, list):
            stack += [(v, depth + 1) for v in value]
        elif isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise BnnkitError(f"{source}: text that is not valid Unicode "
                                  f"({value.encode('utf-8', 'backslashreplace')[:40]!r})") from None


def _no_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def _number(v) -> bool:
    if isinstance(v, int) and not isinstance(v, bool):
        return abs(v) < 2 ** 53  # a JSON integer of any length: no float conversion
    return isinstance(v, float) and math.isfinite(v)


# The keys bnnkit reads, and what each must hold; other keys are kept, unread.
SCHEMA = {
    "preprocessing": ("an object with kind 'scale' or 'none'", lambda v: isinstance(v, dict)),
    "class_names": ("a list of strings", lambda v: isinstance(v, list)
                    and all(isinstance(n, str) for n in v)),
    "dataset": ("a string", lambda v: isinstance(v, str)),
    "keras_test_accuracy": ("a number from 0 to 1", lambda v: _number(v) and 0 <= v <= 1),
    "keras_train_accuracy": ("a number from 0 to 1", lambda v: _number(v) and 0 <= v <= 1),
    "epochs": ("a whole number", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "thresholds": ("a list of numbers", lambda v: isinstance(v, list)
                   and all(_number(t) for t in v)),
}


def validate(meta, source: str) -> dict:
    """Check a sidecar against :data:`SCHEMA`; returns it with its preprocessing
    normalized (see :func:`bnnkit.preprocess.check`).

    Example:
        >>> validate({"preprocessing": {"kind": "none"}}, "m.json")["preprocessing"]["kind"]
        'none'
        >>> validate({"preprocessing": {"kind": "none"}, "epochs": "ten"}, "m.json")
        Traceback (most recent call last):
        bnnkit.errors.BnnkitError: m.json: 'epochs' must be a whole number (got 'ten')
    """
    if not isinstance(meta, dict):
        raise BnnkitError(f"{source}: a sidecar must be a JSON object (got {type(meta).__name__})")
    if "preprocessing" not in meta:
        raise BnnkitError(f"{source}: sidecar has no 'preprocessing' entry")
    for key, (what, ok) in SCHEMA.items():
        if key in meta and meta[key] is not None and not ok(meta[key]):
            shown = repr(meta[key])
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            raise BnnkitError(f"{source}: {key!r} must be {what} (got {shown})")
    return dict(meta, preprocessing=preprocess.check(meta["preprocessing"], source))


def write(path: str | Path, meta: dict) -> None:
    """Write atomically (temp file then rename), keys sorted for stable diffs."""
    from .outdir import write_text

    write_text(path, json.dumps(meta, indent=2, sort_keys=True) + "\n")


def make_sidecar(model_path: str | Path, preprocessing: dict | None = None,
                 class_names=None, dataset: str | None = None, force: bool = False) -> Path:
    """Write ``MODEL.json`` beside ``model_path`` for a model bnnkit did not
    train: its preprocessing (a spec from :func:`bnnkit.preprocess.uint8_scale`,
    else the model's own input), class names and built-in dataset. An existing
    sidecar is kept unless ``force``, which updates only the keys given.
    Checked against the model (per-channel values, one name per output)
    before anything is written.

    Example:
        >>> make_sidecar("kws.tflite", class_names=["yes", "no"])  # doctest: +SKIP
        PosixPath('kws.json')
    """
    from .emit import load_graph

    model_path = Path(model_path)
    path = sidecar_path(model_path)
    if model_path.suffix not in (".tflite", ".h5"):
        raise BnnkitError(f"{model_path}: a sidecar describes a .tflite or .h5 model")
    graph, _ = load_graph(model_path)  # a real model, and its input and output sizes
    if path.exists() or path.is_symlink():
        if not force:
            raise BnnkitError(f"{path} exists; --force updates the keys given and keeps the rest")
        meta = load(model_path)
    else:
        meta = {"preprocessing": dict(preprocess.FLOAT_INPUT)}
    if preprocessing is not None:
        meta["preprocessing"] = preprocessing
    if class_names is not None:
        meta["class_names"] = list(class_names)
    if dataset is not None:
        meta["dataset"] = dataset
    meta.pop("assumed", None)
    source = str(path)
    meta = validate(meta, source)
    if len(graph.inputs) == 1 and preprocess.is_uint8(meta["preprocessing"]):
        preprocess.check_channels(meta["preprocessing"],
                                  tuple(graph.tensor(graph.inputs[0]).shape[1:]), source)
    if "class_names" in meta and len(graph.outputs) == 1:
        outputs = math.prod(graph.tensor(graph.outputs[0]).shape[1:])
        if len(meta["class_names"]) != outputs:
            raise BnnkitError(f"{getattr(class_names, 'source', '') or source}: "
                              f"{len(meta['class_names'])} class names for {outputs} outputs")
    write(path, meta)
    return path


def package_versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("bnnkit", "tensorflow", "tf-keras", "larq", "larq-compute-engine", "numpy"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out
