"""Public binary networks for tests and benchmarks: larq-zoo's architectures and
the kinds of network MLPerf Tiny users train, built with random weights.

Batch-norm statistics and scales are randomised so that the outputs vary with the
input (a fresh Keras model has mean 0 and variance 1 everywhere, which makes many
binary layers constant). Nothing is downloaded: larq-zoo builds its architectures
with ``weights=None``.

Example:
    >>> from bnnkit.public_models import build, convert  # doctest: +SKIP
    >>> model = build("quicknet_small")                    # doctest: +SKIP
    >>> flatbuffer = convert(model)                        # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

# name -> (builder, input shape). Inputs are the smallest each architecture
# builds at with its strided stem and pools (larq-zoo asserts nothing smaller).
LARQ_ZOO = {
    "quicknet": ("sota.QuickNet", (32, 32, 3)),
    "quicknet_small": ("sota.QuickNetSmall", (32, 32, 3)),
    "birealnet": ("literature.BiRealNet", (32, 32, 3)),
    "binary_resnet_e18": ("literature.BinaryResNetE18", (32, 32, 3)),
    "binary_densenet28": ("literature.BinaryDenseNet28", (32, 32, 3)),
    "meliusnet22": ("literature.MeliusNet22", (32, 32, 3)),
    "real_to_binary_net": ("literature.RealToBinaryNet", (32, 32, 3)),
    "xnornet": ("literature.XNORNet", (64, 64, 3)),
    "dorefanet": ("literature.DoReFaNet", (64, 64, 3)),
    "binary_alexnet": ("literature.BinaryAlexNet", (64, 64, 3)),
}
MLPERF_TINY = {"binary_resnet8": (32, 32, 3), "binary_dscnn": (49, 10, 1)}
ALL = tuple(LARQ_ZOO) + tuple(MLPERF_TINY)


def _import_larq_zoo():
    from . import tfenv  # noqa: F401  (Keras 2 before TensorFlow loads)

    try:
        import larq_zoo
    except ImportError as exc:
        from .errors import BnnkitError

        raise BnnkitError(f"larq-zoo is not installed ({exc}); run 'make setup'") from None
    return larq_zoo


def randomize_batch_norms(model, seed: int = 0):
    """Give every BatchNormalization random statistics, scale and offset."""
    from .tfenv import keras

    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            new = []
            for w in layer.weights:
                shape = tuple(w.shape)
                name = w.name.split("/")[-1]
                if "moving_variance" in name:
                    v = rng.uniform(0.5, 2.0, shape)
                elif "gamma" in name:
                    v = rng.uniform(0.5, 1.5, shape) * rng.choice([-1, 1], shape, p=[0.1, 0.9])
                else:  # beta, moving_mean
                    v = rng.normal(0, 0.5, shape)
                new.append(v.astype(np.float32))
            layer.set_weights(new)
    return model


def build(name: str, seed: int = 0, num_classes: int = 10):
    """A Keras model of architecture ``name`` (see :data:`ALL`), random weights."""
    from .tfenv import keras, tf

    tf.random.set_seed(seed)
    keras.utils.set_random_seed(seed)
    if name in LARQ_ZOO:
        lqz = _import_larq_zoo()
        path, shape = LARQ_ZOO[name]
        module, cls = path.split(".")
        model = getattr(getattr(lqz, module), cls)(
            input_shape=shape, weights=None, num_classes=num_classes, include_top=True)
    elif name == "binary_resnet8":
        model = _binary_resnet8(num_classes)
    elif name == "binary_dscnn":
        model = _binary_dscnn(num_classes)
    else:
        from .errors import BnnkitError

        raise BnnkitError(f"unknown public model {name!r} (choose from {', '.join(ALL)})")
    return randomize_batch_norms(model, seed)


def input_shape(name: str) -> tuple:
    return LARQ_ZOO[name][1] if name in LARQ_ZOO else MLPERF_TINY[name]


def _bconv(filters, kernel, strides=1):
    from .tfenv import lq

    return lq.layers.QuantConv2D(filters, kernel, strides=strides, padding="same",
                                 pad_values=1.0, input_quantizer="ste_sign",
                                 kernel_quantizer="ste_sign", kernel_constraint="weight_clip",
                                 use_bias=False)


def _binary_resnet8(num_classes):
    """MLPerf Tiny's ResNet-8 (image classification, 32x32x3) with binary 3x3
    convolutions inside the residual blocks, a float stem and classifier."""
    from .tfenv import keras

    inp = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(16, 3, padding="same", use_bias=False)(inp)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Activation("relu")(x)
    for filters, stride in ((16, 1), (32, 2), (64, 2)):
        y = _bconv(filters, 3, stride)(x)
        y = keras.layers.BatchNormalization()(y)
        y = _bconv(filters, 3)(y)
        y = keras.layers.BatchNormalization()(y)
        if stride != 1:
            x = keras.layers.AveragePooling2D(2)(x)
            x = keras.layers.Conv2D(filters, 1, use_bias=False)(x)
            x = keras.layers.BatchNormalization()(x)
        x = keras.layers.Add()([x, y])
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(num_classes)(x)
    out = keras.layers.Activation("softmax")(x)
    return keras.Model(inp, out, name="binary_resnet8")


def _binary_dscnn(num_classes):
    """MLPerf Tiny's DS-CNN (keyword spotting, 49x10 MFCC) with a float stem,
    float depthwise convolutions and binary pointwise convolutions."""
    from .tfenv import keras

    inp = keras.Input((49, 10, 1))
    x = keras.layers.Conv2D(64, (10, 4), strides=2, padding="same", use_bias=False)(inp)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Activation("relu")(x)
    for _ in range(4):
        x = keras.layers.DepthwiseConv2D(3, padding="same", use_bias=False)(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.Activation("relu")(x)
        x = _bconv(64, 1)(x)
        x = keras.layers.BatchNormalization()(x)
    x = keras.layers.AveragePooling2D((25, 5))(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(num_classes)(x)
    out = keras.layers.Activation("softmax")(x)
    return keras.Model(inp, out, name="binary_dscnn")


def convert(model) -> bytes:
    """LCE's flatbuffer of ``model`` (float input and output)."""
    from .convert import convert_model

    return convert_model(model, model.name)


def random_inputs(name: str, n: int, seed: int = 0) -> np.ndarray:
    """n float32 inputs for ``name``: uniform in [-1, 1] (larq-zoo's models
    take images scaled to about that range)."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (n,) + input_shape(name)).astype(np.float32)
