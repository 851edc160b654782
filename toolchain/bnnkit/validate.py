"""``bnnkit validate``: the generated C against the interpreter (and Keras) on
the user's own data.

Data: an ``.npz`` with ``x`` (and optionally ``y``), a folder of images in
class sub-folders, or a built-in dataset by name (its test set). ``x`` is what
the generated API takes: uint8 pixels for a model whose sidecar gives its
preprocessing, else the model's own input tensor (float32, or int8 for an
int8 model). Reported: accuracy of the C, of LCE's interpreter and, when the
``.h5`` is beside the model, of Keras; top-1 agreement; the largest absolute
difference, RMSE and cosine similarity of the outputs (dequantized for an
int8 output); the confusion matrix; the inputs that disagree most.

Example:
    >>> report = validate("models/lenet_bin3.tflite", "my_images/")  # doctest: +SKIP
    >>> report["agreement"]                                          # doctest: +SKIP
    1.0
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from .errors import BnnkitError, one_line
from .outdir import temp_dir

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm", ".gif", ".tif", ".tiff")


MAX_INPUT_BYTES = 1 << 30  # inputs read from a file, at most (1 GiB)
MAX_IMAGE_PIXELS = 1 << 26  # an image file of more pixels is refused before decoding


def _npz_array(z, name: str, path: Path, limit):
    """Member ``name`` of the open .npz ``z``, its first ``limit`` rows only,
    from its header before any data is decompressed: a small file cannot expand
    into more than MAX_INPUT_BYTES, and no dtype is cast."""
    with z.open(f"{name}.npy") as f:
        version = np.lib.format.read_magic(f)
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        shape, fortran, dtype = read_header(f)
        if dtype.hasobject or dtype.kind not in "uif" or dtype.itemsize > 8:
            raise BnnkitError(f"{path}: {name} is {dtype} (integers or floats only)")
        if len(shape) == 0:
            raise BnnkitError(f"{path}: {name} is a single value, not an array of inputs")
        if fortran and len(shape) > 1:
            raise BnnkitError(f"{path}: {name} is stored in Fortran order (save it in C order)")
        rows = shape[0] if limit is None else min(shape[0], limit)
        row_items = int(np.prod(shape[1:], dtype=np.int64))
        nbytes = rows * row_items * dtype.itemsize
        if nbytes > MAX_INPUT_BYTES:
            raise BnnkitError(f"{path}: {name} holds {shape[0]:,} inputs of {row_items:,} "
                              f"values ({nbytes:,} bytes to read, over {MAX_INPUT_BYTES:,}); "
                              "pass --limit")
        data = f.read(nbytes)
        if len(data) != nbytes:
            raise BnnkitError(f"{path}: {name} is truncated")
        return np.frombuffer(data, dtype).reshape((rows,) + tuple(shape[1:])), shape[0]


def load_npz(path: Path, limit=None):
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            files = [n[:-4] for n in z.namelist() if n.endswith(".npy")]
            if "x" not in files:
                raise BnnkitError(f"{path}: no array 'x' (it holds {', '.join(files) or 'none'})")
            x, n_x = _npz_array(z, "x", path, limit)
            y, n_y = _npz_array(z, "y", path, limit) if "y" in files else (None, None)
    except BnnkitError:
        raise
    except Exception as exc:  # zipfile, bad headers, truncated members
        raise BnnkitError(f"{path}: not a readable .npz ({type(exc).__name__}: "
                          f"{str(exc)[:120]})") from None
    if y is not None:
        if y.ndim != 1 or n_y != n_x or y.dtype.kind not in "ui":
            raise BnnkitError(f"{path}: y must hold one integer class per input of x "
                              f"(x has {n_x}, y is {y.dtype} {y.shape})")
    return x, y


def load_folder(path: Path, shape: tuple, class_names, limit=None):
    """Images in class sub-folders, as uint8 pixels of ``shape`` (H, W[, C]);
    regular files only (a FIFO would block), each of at most MAX_IMAGE_PIXELS,
    the first ``limit`` in name order."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    folders = sorted(p for p in path.iterdir() if p.is_dir())
    if not folders:
        raise BnnkitError(f"{path}: no class sub-folders (expected {path}/CLASS/image.png)")
    names = [f.name for f in folders]
    if class_names and set(names) <= set(class_names):
        index = {name: class_names.index(name) for name in names}  # the sidecar's order
    else:
        index = {name: i for i, name in enumerate(names)}
    h, w = shape[0], shape[1]
    channels = shape[2] if len(shape) > 2 else 1
    xs, ys = [], []
    for folder in folders:
        for f in sorted(folder.iterdir()):
            if f.suffix.lower() not in IMAGE_SUFFIXES or not f.is_file():
                continue
            if limit is not None and len(xs) >= limit:
                break
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("error", Image.DecompressionBombWarning)
                    with Image.open(f) as im:
                        if im.size[0] * im.size[1] > MAX_IMAGE_PIXELS:
                            raise BnnkitError(f"{f}: {im.size[0]}x{im.size[1]} pixels, over "
                                              f"{MAX_IMAGE_PIXELS:,}: not decoded")
                        im = im.convert("L" if channels == 1 else "RGB").resize(
                            (w, h), Image.BILINEAR)
                        xs.append(np.asarray(im, dtype=np.uint8).reshape(shape))
            except (UnidentifiedImageError, OSError, Image.DecompressionBombWarning,
                    Image.DecompressionBombError, ValueError) as exc:
                raise BnnkitError(f"{f}: not a readable image ({one_line(str(exc))[:160]})") \
                    from None
            ys.append(index[folder.name])
    if not xs:
        raise BnnkitError(f"{path}: no images ({', '.join(IMAGE_SUFFIXES)}) in its sub-folders")
    return np.stack(xs), np.array(ys, dtype=np.int64)


def load_data(data: str, gen, data_dir=None, limit=None):
    """(x, y or None) from ``data`` (see the module docstring), checked
    against what the generated API of ``gen`` takes."""
    from . import data as datamod

    path = Path(data)
    takes_pixels = gen.input_dtype == np.uint8
    if data in datamod.DATASETS and not path.exists():
        ds = datamod.load(data, "test", data_dir)
        x, y = ds.images, ds.labels.astype(np.int64)
    elif path.is_dir():
        if not takes_pixels:
            raise BnnkitError(f"{path}: image folders need a model that takes pixels (its "
                              "sidecar gives the preprocessing); pass an .npz of its input")
        x, y = load_folder(path, gen.input_shape, gen.meta.get("class_names"), limit)
    elif path.is_file():
        x, y = load_npz(path, limit)
    else:
        raise BnnkitError(f"{data}: no such file or folder, and not a dataset name "
                          f"({', '.join(datamod.DATASETS)})")
    if limit is not None:
        x, y = x[:limit], (None if y is None else y[:limit])
    want = np.dtype(gen.input_dtype)
    if len(x) == 0:
        raise BnnkitError(f"{data}: no inputs")
    per_input = int(np.prod(gen.input_shape))
    if int(np.prod(x.shape[1:])) != per_input:
        raise BnnkitError(f"{data}: inputs of shape {tuple(x.shape[1:])}, the model takes "
                          f"{'x'.join(map(str, gen.input_shape))} ({per_input} values)")
    if want == np.uint8 and x.dtype != np.uint8:
        raise BnnkitError(f"{data}: x is {x.dtype}; the model takes uint8 pixels")
    if want != np.uint8:
        if want == np.int8 and x.dtype != np.int8:
            raise BnnkitError(f"{data}: x is {x.dtype}; the model takes its int8 input tensor")
        with np.errstate(over="ignore", invalid="ignore"):  # checked just below
            x = x.astype(want)
        if want == np.float32 and not np.all(np.isfinite(x)):
            raise BnnkitError(f"{data}: x holds inf or NaN (or values outside float32)")
    n_out = gen.program.output_floats
    if y is not None and (y.min() < 0 or y.max() >= n_out):
        raise BnnkitError(f"{data}: classes in y run from {y.min()} to {y.max()}; the model "
                          f"has {n_out} outputs")
    return x, y


def _real(gen, outputs: np.ndarray) -> np.ndarray:
    """The outputs as real values: int8 scores dequantized."""
    out = outputs.astype(np.float64)
    quant = gen.output_quant
    if gen.output_kind == "i8" and quant:
        out = quant[0] * (out - quant[1])
    return out


def _keras_h5(model: Path, gen) -> Path | None:
    """The Keras model beside a float-input .tflite, if there is one."""
    h5 = model.with_suffix(".h5")
    return h5 if model.suffix == ".tflite" and h5.is_file() and gen.input_quant is None else None


def _keras_scores(model: Path, gen, x):
    """Keras's scores when the .h5 of a .tflite lies beside it, else None."""
    from . import preprocess

    h5 = _keras_h5(model, gen)
    if h5 is None:
        return None
    from .convert import load_keras

    keras_model = load_keras(h5)
    inputs = preprocess.apply(gen.meta["preprocessing"], x, gen.input_shape)
    return np.asarray(keras_model.predict(inputs, batch_size=256, verbose=0)).reshape(len(x), -1)


def validate(model, data: str, target: str = "host", limit=None, data_dir=None,
             timeout: float = 600, worst: int = 5, show_progress: bool = False,
             class_names=None, input_spec=None, io: str = "model",
             reference: str | None = None) -> dict:
    """The report (see the module docstring) as a dict. ``class_names`` and
    ``input_spec`` (a preprocessing spec) replace the sidecar's, and ``io`` is
    NAME_run's form, as on gen-firmware.

    Example:
        >>> validate("models/lenet_bin3.tflite", "fashion-mnist", limit=100)["agreement"]  # doctest: +SKIP
        1.0
    """

    from .build import make
    from .emit import generate
    from .simulate import execute

    def stage(message):
        if show_progress:
            print(f"[validate] {message}", file=sys.stderr, flush=True)

    model = Path(model)
    with temp_dir("validate") as tmp:
        gen = generate(model, target, Path(tmp) / "p", class_names=class_names,
                       input_spec=input_spec, io=io, reference=reference)
        x, y = load_data(data, gen, data_dir, limit)
        if gen.output_bits:
            raise BnnkitError(f"{model}: a bit-packed output has no scores to validate")
        stage(f"building {model.name} for {target}, {len(x):,} inputs")  # bad input said nothing
        exe = make(gen.out_dir, gen.target, timeout)
        run = execute(gen, exe, x.reshape(len(x), *gen.input_shape), timeout, show_progress)
    c, ref = _real(gen, run["outputs"]), _real(gen, run["reference"])
    c_pred, ref_pred = run["predictions"], ref.argmax(axis=1)
    diff = np.abs(c - ref)
    denom = np.linalg.norm(c) * np.linalg.norm(ref)
    report = {
        "model": str(model), "data": str(data), "target": target, "n_inputs": int(len(x)),
        "reference": gen.low.reference,
        "agreement": round(float(np.mean(c_pred == ref_pred)), 6),
        "max_abs_diff": float(diff.max()),
        "rmse": float(np.sqrt(np.mean((c - ref) ** 2))),
        "cosine": float(np.sum(c * ref) / denom) if denom else 1.0,
    }
    if _keras_h5(model, gen):
        stage(f"Keras on the {len(x):,} inputs")
    keras = _keras_scores(model, gen, x)
    if keras is not None:
        report["keras_agreement"] = round(float(np.mean(keras.argmax(1) == c_pred)), 6)
        report["keras_max_abs_diff"] = float(np.max(np.abs(keras - c)))
    if y is not None:
        report["accuracy"] = round(float(np.mean(c_pred == y)), 6)
        report["reference_accuracy"] = round(float(np.mean(ref_pred == y)), 6)
        if keras is not None:
            report["keras_accuracy"] = round(float(np.mean(keras.argmax(1) == y)), 6)
        n = gen.program.output_floats
        confusion = np.zeros((n, n), dtype=np.int64)
        np.add.at(confusion, (y, c_pred), 1)
        report["confusion"] = confusion.tolist()  # rows: true class, columns: predicted
    order = np.argsort(-diff.max(axis=1), kind="stable")[:worst]
    report["worst"] = [{"index": int(i), "max_abs_diff": float(diff[i].max()),
                        "c_class": int(c_pred[i]), "reference_class": int(ref_pred[i]),
                        **({"label": int(y[i])} if y is not None else {})} for i in order]
    report["class_names"] = list(gen.meta.get("class_names") or range(gen.program.output_floats))
    return report


def format_text(report: dict) -> str:
    """The report as text.

    Example:
        >>> print(format_text(validate("m.tflite", "data.npz")))  # doctest: +SKIP
    """
    from .lower import REFERENCE_SHORT, REFERENCES

    r = report
    ref = REFERENCE_SHORT[r["reference"]]
    lines = [f"{r['model']} on {r['target']}: {r['n_inputs']:,} inputs from {r['data']}",
             f"  reference          {REFERENCES[r['reference']]}"]
    if "accuracy" in r:
        line = (f"  accuracy           {100 * r['accuracy']:.2f} % generated C, "
                f"{100 * r['reference_accuracy']:.2f} % {ref}")
        if "keras_accuracy" in r:
            line += f", {100 * r['keras_accuracy']:.2f} % Keras"
        lines.append(line)
    lines += [f"  agreement with {ref} {100 * r['agreement']:.2f} % of top-1",
              f"  max |diff|         {r['max_abs_diff']:.6g}   RMSE {r['rmse']:.6g}   "
              f"cosine {r['cosine']:.6f}"]
    if "keras_agreement" in r:
        lines.append(f"  against Keras      {100 * r['keras_agreement']:.2f} % of top-1, "
                     f"max |diff| {r['keras_max_abs_diff']:.3g} (float Keras vs the C)")
    if "confusion" in r:
        names = [str(n)[:10] for n in r["class_names"]]
        lines.append("  confusion (rows: true class, columns: the C's prediction)")
        lines.append("  " + " " * 11 + "".join(f"{n:>11}" for n in names))
        for name, row in zip(names, r["confusion"]):
            lines.append(f"  {name:>10} " + "".join(f"{v:>11,}" for v in row))
    lines.append("  inputs that disagree most:")
    for w in r["worst"]:
        lines.append(f"    #{w['index']}: max |diff| {w['max_abs_diff']:.6g}, C class "
                     f"{w['c_class']}, {ref} class {w['reference_class']}"
                     + (f", label {w['label']}" if "label" in w else ""))
    return "\n".join(lines)
