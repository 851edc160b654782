"""The model zoo: the paper's four LeNets (and signnet for binarized input).

Every model takes (28, 28, 1) float32 input produced by the recorded
preprocessing (:mod:`bnnkit.preprocess`).

Example:
    >>> from bnnkit import zoo
    >>> model = zoo.build("lenet_bin3")                  # doctest: +SKIP
    >>> zoo.profile(model)["binary_params"]             # doctest: +SKIP
    105000
"""

from __future__ import annotations

from .errors import BnnkitError

LENETS = ("lenet_float", "lenet_bin1", "lenet_bin2", "lenet_bin3")
ARCHITECTURES = LENETS + ("qconvnet", "signnet")

# The paper's Table II (accuracy %, kB as larq's summary prints KiB).
PAPER_TABLE = {
    "lenet_float": {"accuracy": 94.23, "kib": 421.04, "label": "Pure LeNet"},
    "lenet_bin1": {"accuracy": 93.89, "kib": 418.56, "label": "1 binary layer"},
    "lenet_bin2": {"accuracy": 92.21, "kib": 381.02, "label": "2 binary layers"},
    "lenet_bin3": {"accuracy": 90.52, "kib": 30.66, "label": "3 binary layers"},
}


def _binary_dense(keras, lq, units, name):
    return lq.layers.QuantDense(
        units, input_quantizer="ste_sign", kernel_quantizer="ste_sign",
        kernel_constraint="weight_clip", use_bias=False, name=name)


def _bn(keras, name):
    return keras.layers.BatchNormalization(scale=False, name=name)


def _lenet_trunk(keras, inputs):
    x = keras.layers.Conv2D(6, 5, padding="same", activation="relu", name="conv1")(inputs)
    x = keras.layers.MaxPooling2D(2, name="pool1")(x)
    x = keras.layers.Conv2D(16, 5, padding="same", activation="relu", name="conv2")(x)
    x = keras.layers.MaxPooling2D(2, name="pool2")(x)
    return keras.layers.Flatten(name="flatten")(x)


# The dense widths of each LeNet's classifier, and how many of them (from the end) are binary.
LENET_CLASSIFIER = (120, 84)
LENET_BINARY_LAYERS = {"lenet_float": 0, "lenet_bin1": 1, "lenet_bin2": 2, "lenet_bin3": 3}


def default_binary_widths(arch: str, n_classes: int = 10) -> tuple:
    """The binary layers' widths of the paper's ``arch``, e.g. (84, 10) for lenet_bin2."""
    k = LENET_BINARY_LAYERS[arch]
    return ((*LENET_CLASSIFIER, n_classes)[3 - k:]) if k else ()


def build_lenet(arch: str, input_layers=None, n_classes=10, binary_widths=None):
    """Build one of the paper's LeNets; ``input_layers`` (optional callables)
    are applied to the input first (e.g. a threshold encoding).

    ``binary_widths`` varies the binary layers as paper 000's Figs. 6-8 do
    ("Dense = 40", "Dense = (100, 40)"): the last ``k`` dense layers of the
    classifier become binary ``QuantDense`` layers of these widths, each after a
    batch norm, and the float layers before them keep the paper's 120 and 84.
    When the last width is not the number of classes, a float softmax layer
    (``fc_out``) maps it to the classes.

    Example:
        >>> build_lenet("lenet_bin1", binary_widths=(40,)).output_shape  # doctest: +SKIP
        (None, 10)
    """
    from .tfenv import keras, lq

    if arch not in LENET_BINARY_LAYERS:
        raise BnnkitError(f"unknown LeNet {arch!r} (choose from {', '.join(LENETS)})")
    widths = tuple(binary_widths) if binary_widths is not None else default_binary_widths(
        arch, n_classes)
    if len(widths) != LENET_BINARY_LAYERS[arch]:
        raise BnnkitError(f"{arch} has {LENET_BINARY_LAYERS[arch]} binary layers, "
                          f"not {len(widths)} widths")
    inputs = keras.Input((28, 28, 1), name="image")
    x = inputs
    for layer in input_layers or ():
        x = layer(x)
    x = _lenet_trunk(keras, x)
    floats = (*LENET_CLASSIFIER, n_classes)[:3 - len(widths)]
    for i, units in enumerate(floats):
        last = i == 2
        x = keras.layers.Dense(units, activation="softmax" if last else "relu",
                               name=f"fc{i + 1}")(x)
    if widths:
        first = len(floats)
        for i, units in enumerate(widths):
            x = _bn(keras, f"bn{first + i}")(x)
            x = _binary_dense(keras, lq, units, f"qfc{first + i + 1}")(x)
        x = _bn(keras, f"bn{first + len(widths)}")(x)
        if widths[-1] != n_classes:
            x = keras.layers.Dense(n_classes, name="fc_out")(x)
        x = keras.layers.Activation("softmax", name="softmax")(x)
    return keras.Model(inputs, x, name=arch)


def build_qconvnet(input_layers=None, n_classes=10):
    """A Larq CNN with binary convolutions, bnnkit's own test of LCE's binary ops:
    ``QuantConv2D`` with one-padding (bit-packed output), valid padding, zero
    padding (float output), widths 40/37/33 (not multiples of 32), binary max pool."""
    from .tfenv import keras, lq

    quant = dict(input_quantizer="ste_sign", kernel_quantizer="ste_sign",
                 kernel_constraint="weight_clip", use_bias=False)
    inputs = keras.Input((28, 28, 1), name="image")
    x = inputs
    for layer in input_layers or ():
        x = layer(x)
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv1")(x)
    x = keras.layers.MaxPooling2D(2, name="pool1")(x)
    x = _bn(keras, "bn1")(x)
    x = lq.layers.QuantConv2D(40, 3, padding="same", pad_values=1.0, name="qconv2", **quant)(x)
    x = _bn(keras, "bn2")(x)
    x = lq.layers.QuantConv2D(37, 3, padding="valid", name="qconv3", **quant)(x)
    x = _bn(keras, "bn3")(x)
    x = keras.layers.MaxPooling2D(2, name="pool3")(x)
    x = lq.layers.QuantConv2D(33, 3, padding="same", name="qconv4", **quant)(x)
    x = _bn(keras, "bn4")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = _binary_dense(keras, lq, n_classes, "qfc5")(x)
    x = _bn(keras, "bn5")(x)
    x = keras.layers.Activation("softmax", name="softmax")(x)
    return keras.Model(inputs, x, name="qconvnet")


def build(arch: str, **options):
    """Build architecture ``arch`` (see :data:`ARCHITECTURES`)."""
    if arch in LENETS:
        return build_lenet(arch, **options)
    if arch == "qconvnet":
        return build_qconvnet(**options)
    if arch == "signnet":
        from .signnet import build_signnet
        return build_signnet(**options)
    raise BnnkitError(f"unknown architecture {arch!r} (choose from {', '.join(ARCHITECTURES)})")


def profile(model) -> dict:
    """larq's summary figures as numbers (the paper's Table II sizes come from here)."""
    from .tfenv import lq

    p = lq.models.ModelProfile(model)
    return {
        "total_params": int(p.weight_count()),
        "binary_params": int(p.weight_count(bitwidth=1)),
        "float_params": int(p.weight_count(bitwidth=32)),
        "model_size_kib": round(p.memory / 8 / 1024, 2),
        "model_size_int8_kib": round(p.int8_fp_weights_memory / 8 / 1024, 2),
        "float32_equivalent_kib": round(p.fp_equivalent_memory / 8 / 1024, 2),
    }


def custom_objects() -> dict:
    """Everything needed to load a bnnkit/larq ``.h5``."""
    from .tfenv import lq  # noqa: F401  (registers larq's objects)
    from .layers import ThresholdEncoding
    import larq

    objs = {"ThresholdEncoding": ThresholdEncoding}
    for mod in (larq.layers, larq.quantizers, larq.constraints, larq.activations):
        for name in dir(mod):
            obj = getattr(mod, name)
            if isinstance(obj, type) or callable(obj):
                objs.setdefault(name, obj)
    return objs
