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


def is_larq_model(model) -> bool:
    """True if any layer is a Larq layer (binary weights or activations)."""
    return any(type(layer).__module__.startswith("larq") for layer in model.layers)


def calibration_data(path, meta: dict, shape: tuple, limit: int):
    """(x, y or None) from the user's calibration data ``path`` (--calibration-data):
    an .npz (x, optional y) or a folder of images in class sub-folders, read as
    ``bnnkit validate`` reads them, at most ``limit`` inputs; x is the model's
    input (uint8 pixels preprocessed as the sidecar says, or its own float
    values), shaped ``shape``.

    Example:
        >>> x, y = calibration_data("calib.npz", {"preprocessing": {"kind": "none"}},
        ...                         (28, 28, 1), 500)  # doctest: +SKIP
    """
    import numpy as np

    from . import preprocess
    from .validate import load_folder, load_npz

    path = Path(path)
    spec = meta["preprocessing"]
    if path.is_dir():
        if not preprocess.is_uint8(spec):
            raise BnnkitError(f"{path}: image folders need the model's preprocessing (a sidecar, "
                              "see docs/sidecar.md); pass an .npz of its float input instead")
        x, y = load_folder(path, shape, meta.get("class_names"), limit)
    elif path.is_file():
        x, y = load_npz(path, limit)
    else:
        raise BnnkitError(f"{path}: no such file or folder (--calibration-data)")
    if int(np.prod(x.shape[1:])) != int(np.prod(shape)):
        raise BnnkitError(f"{path}: inputs of shape {tuple(x.shape[1:])}, the model takes "
                          f"{'x'.join(map(str, shape))}")
    if preprocess.is_uint8(spec):
        if x.dtype != np.uint8:
            raise BnnkitError(f"{path}: x is {x.dtype}; the sidecar's preprocessing takes uint8 "
                              "pixels")
    elif x.dtype.kind != "f":
        raise BnnkitError(f"{path}: x is {x.dtype}; without a sidecar the model takes its own "
                          "float input (or give it one: docs/sidecar.md)")
    with np.errstate(over="ignore", invalid="ignore"):
        x = preprocess.apply(spec, x, shape) if preprocess.is_uint8(spec) else \
            np.asarray(x, np.float32).reshape((len(x),) + tuple(shape))
    if not np.all(np.isfinite(x)):
        raise BnnkitError(f"{path}: x holds inf or NaN (or values outside float32)")
    return x, y


def _calibration_inputs(model, meta: dict, source: str, calibration_images: int, data_dir,
                        calibration_path=None):
    """The first ``calibration_images`` inputs of ``calibration_path`` (the user's
    data), else of the sidecar dataset's training images, preprocessed as the
    sidecar says, shaped as the model's input."""
    from . import data, preprocess

    shape = tuple(int(d) for d in model.input_shape[1:])
    if calibration_path is not None:
        return calibration_data(calibration_path, meta, shape, calibration_images)[0]
    if meta.get("assumed") or "dataset" not in meta:
        raise BnnkitError(f"{source}: --int8 calibrates on the sidecar's dataset, and the model "
                          "has no sidecar naming one; pass --calibration-data FILE.npz|FOLDER")
    train = data.load(meta["dataset"], "train", data_dir).limit(calibration_images)
    return preprocess.apply(meta["preprocessing"], train.images, shape)


def _quiet_convert(convert, source: str, what: str) -> bytes:
    """Run a converter with its C++ diagnostics (written to fd 2) hidden; a
    failure becomes one line naming ``source``."""
    import os

    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            return convert()
        except BnnkitError:
            raise
        except Exception as exc:
            raise BnnkitError(f"{source}: {what} cannot convert this model to int8 "
                              f"({' '.join(str(exc).split())[:300]})") from None
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def convert_int8(model, meta: dict, source: str, calibration_images: int = 500,
                 data_dir=None, calibration_path=None) -> bytes:
    """Full-integer int8 flatbuffer of a plain Keras model, made the way TFLite
    Micro users make theirs: TensorFlow's own ``TFLiteConverter`` with
    ``Optimize.DEFAULT``, int8 builtins only, int8 input and output, activation
    ranges calibrated on the first ``calibration_images`` training images of the
    sidecar's dataset, preprocessed as the sidecar says. A Larq model goes to
    :func:`convert_int8_lce` instead.

    Example:
        >>> fb = convert_int8(load_keras("models/lenet_float.h5"),
        ...                   metadata.load("models/lenet_float.h5"), "m")  # doctest: +SKIP
    """
    from .tfenv import tf

    if is_larq_model(model):
        return convert_int8_lce(model, meta, source, calibration_images, data_dir,
                                calibration_path)
    x = _calibration_inputs(model, meta, source, calibration_images, data_dir, calibration_path)

    def representative():
        for i in range(len(x)):
            yield [x[i:i + 1]]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    return _quiet_convert(conv.convert, source, "TensorFlow")


# Layers whose output has the quantization of their input (TFLite's "same
# scale" ops): no fake-quant node of their own.
_SAME_SCALE = ("MaxPooling2D", "MaxPooling1D", "Flatten", "Reshape", "Dropout", "ZeroPadding2D",
               "Cropping2D", "GlobalMaxPooling2D")


def fake_quant_points(model) -> list:
    """Names of the layers after whose output :func:`convert_int8_lce` places a
    fake-quant node: the model input and every real-valued activation that an
    int8 kernel consumes. Not after a Larq layer (LCE keeps a binary layer's
    output in float and folds what follows), not before a layer that binarizes
    its input (the sign needs no range), not before a batch norm that folds into
    the layer before it (one without an activation of its own), not after a
    layer that keeps its input's scale, and
    not after the model's output layer (a softmax's int8 output has TFLite's
    fixed 1/256 scale).

    Example:
        >>> fake_quant_points(load_keras("models/lenet_bin3.h5"))  # doctest: +SKIP
        ['image', 'conv1', 'conv2', 'bn3']
    """
    consumers = {layer.name: [] for layer in model.layers}
    for layer in model.layers:
        for node in layer._inbound_nodes[:1]:  # the model's own call, not later rebuilds
            parents = node.inbound_layers
            for parent in parents if isinstance(parents, list) else [parents]:
                consumers[parent.name].append(layer)
    output_layers = set(model.output_names)
    points = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "InputLayer":
            points.append(layer.name)
            continue
        users = consumers[layer.name]
        if (type(layer).__module__.startswith("larq") or kind in _SAME_SCALE
                or layer.name in output_layers or not users
                or all(_binarizes_input(u) for u in users)
                or (all(type(u).__name__ == "BatchNormalization" for u in users)
                    and not _activates(layer))):
            continue
        points.append(layer.name)
    return points


def _activates(layer) -> bool:
    """A layer with a fused nonlinearity (a Dense with ReLU): a batch norm after
    it cannot fold into it, so its own output is what an int8 kernel writes."""
    activation = getattr(layer, "activation", None)
    return activation is not None and getattr(activation, "__name__", "linear") != "linear"


def _binarizes_input(layer) -> bool:
    quantizer = getattr(layer, "input_quantizer", None)
    return quantizer is not None and getattr(quantizer, "precision", None) == 1


def convert_int8_lce(model, meta: dict, source: str, calibration_images: int = 500,
                     data_dir=None, calibration_path=None) -> bytes:
    """int8 flatbuffer of a Larq model with LCE's converter, which has no
    calibration of its own: :func:`fake_quant_model` on the first
    ``calibration_images`` training images, then LCE converts it with int8
    input and output. The binary layers stay as LCE makes them.

    Example:
        >>> fb = convert_int8_lce(load_keras("models/lenet_bin3.h5"),
        ...                       metadata.load("models/lenet_bin3.h5"), "m")  # doctest: +SKIP
    """
    x = _calibration_inputs(model, meta, source, calibration_images, data_dir, calibration_path)
    return convert_fake_quant(fake_quant_model(model, x, source), source)


def _functional(model, source: str):
    """``model`` as a functional model on the same layers (a Sequential gets
    its graph), after checking that each layer is used once."""
    from .tfenv import keras

    for layer in model.layers:
        if len(layer._inbound_nodes) > 1:
            raise BnnkitError(f"{source}: --int8 rebuilds the model with fake-quant nodes and "
                              f"needs each layer used once ({layer.name} is shared)")
    if not any(type(layer).__name__ == "InputLayer" for layer in model.layers):
        model = keras.Model(model.inputs, model.outputs)
    return model


def fake_quant_model(model, x, source: str = "<model>"):
    """``model`` rebuilt on the same layers (they share their weights) with a
    ``tf.quantization.fake_quant_with_min_max_vars`` node after each layer of
    :func:`fake_quant_points`, its range the one the layer's output takes on
    the calibration inputs ``x`` (widened to hold 0). LCE converts it to int8;
    trained further, it fine-tunes the weights for int8 (the fake-quant node
    passes gradients inside its range, as quantization-aware training does).

    Example:
        >>> qat = fake_quant_model(load_keras("models/lenet_bin3.h5"), x)  # doctest: +SKIP
    """
    import numpy as np

    from .tfenv import keras, tf

    model = _functional(model, source)
    points = fake_quant_points(model)
    probe = keras.Model(model.inputs, [model.get_layer(n).output for n in points])
    measured = probe.predict(x, batch_size=256, verbose=0)
    measured = measured if isinstance(measured, list) else [measured]
    ranges = {}
    for name, v in zip(points, measured):
        lo, hi = min(0.0, float(np.min(v))), max(0.0, float(np.max(v)))
        if not (np.isfinite(lo) and np.isfinite(hi)) or hi - lo <= 0:
            raise BnnkitError(f"{source}: layer {name}'s output has range [{lo}, {hi}] on the "
                              "calibration images; no int8 scale fits it")
        ranges[name] = (lo, hi)

    def fake_quant(t, name):
        lo, hi = ranges[name]
        return keras.layers.Lambda(
            lambda v: tf.quantization.fake_quant_with_min_max_vars(v, lo, hi, num_bits=8),
            name=f"{name}_fake_quant")(t)

    outputs = {}
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            t = keras.Input(shape=layer.output.shape[1:], name=layer.name)
            new_input = t
        else:
            parents = layer._inbound_nodes[0].inbound_layers
            args = [outputs[p.name] for p in (parents if isinstance(parents, list) else [parents])]
            t = layer(args if len(args) > 1 else args[0])
        outputs[layer.name] = fake_quant(t, layer.name) if layer.name in ranges else t
    return keras.Model(new_input, [outputs[name] for name in model.output_names])


def convert_fake_quant(model, source: str = "<model>") -> bytes:
    """LCE's int8 flatbuffer (int8 input and output) of a model from
    :func:`fake_quant_model`.

    Example:
        >>> fb = convert_fake_quant(fake_quant_model(model, x))  # doctest: +SKIP
    """
    from larq_compute_engine import convert_keras_model

    from .tfenv import tf

    return _quiet_convert(lambda: convert_keras_model(model, inference_input_type=tf.int8,
                                                      inference_output_type=tf.int8),
                          source, "LCE")


def int8_accuracy(flatbuffer: bytes, meta: dict, data_dir=None, progress=None) -> float:
    """Top-1 accuracy of an int8 flatbuffer on the sidecar dataset's whole test
    set, through LCE's interpreter, the input quantized as the generated C does."""
    import numpy as np

    from . import data, preprocess
    from .reference import lce_predict
    from .tflite_reader import parse_tflite

    graph = parse_tflite(flatbuffer)
    t = graph.tensor(graph.inputs[0])
    quant = (float(t.scale[0]), int(t.zero_point[0])) if t.quantized else None
    test = data.load(meta["dataset"], "test", data_dir)
    x = preprocess.apply(meta["preprocessing"], test.images, tuple(t.shape[1:]), quant)
    scores = lce_predict(flatbuffer, x, progress=progress).reshape(len(x), -1)
    return float(np.mean(scores.argmax(axis=1) == test.labels))


def _write_atomic(out: Path, payload: bytes) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    try:
        tmp.write_bytes(payload)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)


def int8_path(out: str | Path) -> Path:
    """Where ``train --int8`` and ``convert --int8`` write a model's int8 form.

    Example:
        >>> int8_path("models/lenet_bin3.h5")
        PosixPath('models/lenet_bin3_int8.tflite')
    """
    out = Path(out)
    return out.with_name(out.stem + "_int8.tflite")


def _accuracy_on(flatbuffer: bytes, x, y) -> float:
    """Top-1 accuracy of an int8 flatbuffer on model inputs ``x`` (float, as the
    model takes them before its input quantization) with classes ``y``."""
    import numpy as np

    from .ops._quant import quantize_f32
    from .reference import lce_predict
    from .tflite_reader import parse_tflite

    graph = parse_tflite(flatbuffer)
    t = graph.tensor(graph.inputs[0])
    if t.quantized:
        x = quantize_f32(x, float(t.scale[0]), int(t.zero_point[0]))
    scores = lce_predict(flatbuffer, x).reshape(len(x), -1)
    return float(np.mean(scores.argmax(axis=1) == y))


def float_layers(flatbuffer: bytes, source: str = "<model>") -> list[str]:
    """The layers of an int8 flatbuffer that bnnkit still runs with float32
    kernels, each as "LAYER (kernel): why", LAYER the Keras layer it came from:
    fed float32 by the layer before it, or with no int8 range on its output (no
    fake-quant node after it). Binary layers are not listed (their float
    output transform is part of the binary kernel), nor reshapes (no arithmetic).

    Example:
        >>> float_layers(open("models/lenet_bin3_int8.tflite", "rb").read())  # doctest: +SKIP
        []
    """
    from .lower import lower
    from .profile import keras_layer
    from .tflite_reader import parse_tflite

    low = lower(parse_tflite(flatbuffer, source), source)
    producer = {t: n for n in low.nodes for t in n.outputs}
    layer = lambda n: keras_layer(n.name.split(" -> ", 1)[-1])  # noqa: E731
    out = []
    for n in low.nodes:
        if n.kind.startswith(("binary", "bconv", "bmaxpool")) or \
                n.kind in ("reshape", "dequantize_s8") or \
                not any(low.kinds.get(t) == "f32" for t in n.outputs):
            continue
        fed = [t for t in n.inputs if low.kinds.get(t) == "f32"]
        p = producer.get(fed[0]) if fed else None
        while p is not None and p.kind == "reshape":  # data moves: the layer before
            p = producer.get(p.inputs[0])
        no_range = "its output has no int8 range (no fake-quant node after the layer)"
        if p is not None and p.kind == "dequantize_s8":
            why = f"{no_range}: its int8 input is dequantized"
        elif p is not None:
            why = f"its input is float32, from {layer(p)} ({p.kind})"
        elif fed:
            why = "its input is the model's float32 input"
        else:
            why = no_range
        out.append(f"{layer(n)} ({n.kind}): {why}")
    return out


def write_int8(model, meta: dict, source: str, out: Path, calibration_images: int = 500,
               data_dir=None, progress=None, fine_tune=None,
               max_drop: float | None = 0.005, calibration_path=None) -> dict:
    """Convert ``model`` with :func:`convert_int8`, measure its int8 test
    accuracy, and write the flatbuffer ``out`` with its sidecar (``meta`` plus
    an ``int8`` record: converter, calibration, accuracy); return that record.

    ``fine_tune(qat_model) -> dict``, if given, is called when the int8 model
    of a Larq model loses more than ``max_drop`` of the float test accuracy
    (``meta["keras_test_accuracy"]``), or always when ``max_drop`` is None: it
    trains the :func:`fake_quant_model` further, which is then converted
    instead; what it returns is recorded as ``fine_tune``.

    ``calibration_path``: the user's data (.npz or image folder) to calibrate
    on instead of the sidecar's dataset; without a dataset in the sidecar, the
    int8 accuracy is measured on that data when it has labels
    (``calibration_data_accuracy``), else not at all.

    Example:
        >>> write_int8(load_keras("m.h5"), metadata.load("m.h5"), "m.h5",
        ...            Path("m_int8.tflite"))  # doctest: +SKIP
        {'converter': 'LCE convert_keras_model, ...', 'test_accuracy': 0.9071, ...}
    """
    larq = is_larq_model(model)
    shape = tuple(int(d) for d in model.input_shape[1:])
    labeled = None
    if calibration_path is not None:
        x_cal, y_cal = calibration_data(calibration_path, meta, shape, calibration_images)
        labeled = (x_cal, y_cal) if y_cal is not None else None
    if larq:  # one fake-quant model: converted, and fine-tuned if need be
        converter = ("LCE convert_keras_model, int8 input and output, fake-quant nodes "
                     "after " + ", ".join(fake_quant_points(model)))
        qat = fake_quant_model(model, _calibration_inputs(model, meta, source, calibration_images,
                                                          data_dir, calibration_path), source)
        flatbuffer = convert_fake_quant(qat, source)
    else:
        converter = ("TensorFlow TFLiteConverter, Optimize.DEFAULT, TFLITE_BUILTINS_INT8, "
                     "int8 input and output")
        flatbuffer = convert_int8(model, meta, source, calibration_images, data_dir,
                                  calibration_path)
    check_ops(flatbuffer, source)
    meta = {k: v for k, v in meta.items() if k != "assumed"}

    def measure(fb):
        if "dataset" in meta:
            return round(int8_accuracy(fb, meta, data_dir, progress), 6)
        return None if labeled is None else round(_accuracy_on(fb, *labeled), 6)

    accuracy = measure(flatbuffer)
    record = {
        "converter": converter,
        "calibration_images": calibration_images,
        "calibration_set": (f"the first {calibration_images} inputs of {Path(calibration_path).name}"
                            if calibration_path is not None else
                            f"the first {calibration_images} {meta['dataset']} training images"),
    }
    drop = meta.get("keras_test_accuracy", accuracy) - accuracy if accuracy is not None else 0
    if fine_tune is not None and (max_drop is None or drop > max_drop):
        if not larq:
            record["fine_tune"] = (f"skipped: lost {100 * drop:.2f} points, but fine-tuning "
                                   "with fake quantization is for Larq models")
        else:
            record["post_training_accuracy"] = accuracy
            record["fine_tune"] = fine_tune(qat)
            flatbuffer = convert_fake_quant(qat, source)
            check_ops(flatbuffer, source)
            accuracy = measure(flatbuffer)
    if "dataset" in meta:
        record["test_accuracy"] = accuracy
    elif accuracy is not None:
        record["calibration_data_accuracy"] = accuracy
    record["float_layers"] = float_layers(flatbuffer, source)
    meta["int8"] = record
    _write_atomic(out, flatbuffer)
    metadata.write(metadata.sidecar_path(out), meta)
    return record


def converted_flatbuffer(model_path) -> bytes:
    """LCE's flatbuffer of the Keras/Larq ``model_path`` (.h5), from a cache
    keyed by the file's bytes, the conversion code and the converter's version
    (``~/.cache/bnnkit/converted``, or under $XDG_CACHE_HOME): the first command
    on an .h5 converts it (TensorFlow, tens of seconds), the next ones read it.

    Example:
        >>> fb = converted_flatbuffer("models/lenet_bin3.h5")  # doctest: +SKIP
    """
    import hashlib
    from importlib.metadata import PackageNotFoundError, version

    from .data import user_cache_dir
    from .outdir import write_bytes

    model_path = Path(model_path)
    try:
        lce = version("larq-compute-engine")
    except PackageNotFoundError:
        lce = "?"
    key = hashlib.sha256()
    for part in (model_path.read_bytes(), Path(__file__).read_bytes(),
                 (Path(__file__).parent / "layers.py").read_bytes(), lce.encode()):
        key.update(hashlib.sha256(part).digest())
    cached = user_cache_dir() / "converted" / f"{key.hexdigest()}.tflite"
    if cached.is_file():
        flatbuffer = cached.read_bytes()
        if flatbuffer[4:8] == b"TFL3":
            return flatbuffer
    flatbuffer = convert_model(load_keras(model_path), str(model_path))
    check_ops(flatbuffer, str(model_path))
    try:
        write_bytes(cached, flatbuffer)
    except OSError:  # a read-only home: convert every time
        pass
    return flatbuffer


def convert(model_path: str | Path, output: str | Path | None = None, int8: bool = False,
            calibration_images: int = 500, data_dir=None, progress=None,
            calibration_path=None) -> Path:
    """Convert ``model_path`` (.h5) and write the flatbuffer; copy the sidecar
    beside it. ``int8``: full-integer with :func:`convert_int8`; the sidecar then
    also records how it was calibrated and its int8 test accuracy."""
    model_path = Path(model_path)
    default = int8_path(model_path) if int8 else model_path.with_suffix(".tflite")
    out = Path(output) if output else default
    if out.suffix != ".tflite":
        raise BnnkitError(f"{out}: output must end in .tflite")
    model = load_keras(model_path)
    if int8:
        write_int8(model, metadata.load(model_path), str(model_path), out, calibration_images,
                   data_dir, progress, calibration_path=calibration_path)
        return out
    flatbuffer = convert_model(model, str(model_path))
    check_ops(flatbuffer, str(model_path))
    _write_atomic(out, flatbuffer)
    src_meta = metadata.sidecar_path(model_path)
    dst_meta = metadata.sidecar_path(out)
    if src_meta.is_file() and src_meta.resolve() != dst_meta.resolve():
        shutil.copyfile(src_meta, dst_meta)
    return out
