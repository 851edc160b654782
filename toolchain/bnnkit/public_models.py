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
    "xnornet": ("literature.XNORNet", (224, 224, 3)),
    "dorefanet": ("literature.DoReFaNet", (64, 64, 3)),
    "binary_alexnet": ("literature.BinaryAlexNet", (64, 64, 3)),
}
MLPERF_TINY = {"binary_resnet8": (32, 32, 3), "binary_dscnn": (49, 10, 1)}
# The float models of LCE's own end-to-end test (larq_compute_engine/tests/
# end2end_test.py), at 32x32x3 instead of 224x224x3; "_where" uses the test's
# tf.where binary quantizer, which LCE leaves as builtin ops.
LCE_END2END = {"lce_toy_model": (32, 32, 3), "lce_toy_model_where": (32, 32, 3),
               "lce_toy_sequential": (32, 32, 3), "lce_toy_sequential_where": (32, 32, 3)}
ALL = tuple(LARQ_ZOO) + tuple(MLPERF_TINY) + tuple(LCE_END2END)


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


def build(name: str, seed: int = 0, num_classes: int = 10, softmax: bool = False):
    """A Keras model of architecture ``name`` (see :data:`ALL`), random weights.

    Without ``softmax`` the model ends at its logits: with random weights the
    softmax saturates to one-hot outputs that hide every difference."""
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
    elif name in LCE_END2END:
        quantizer = _where_sign if name.endswith("_where") else "ste_sign"
        builder = _lce_toy_model if name.startswith("lce_toy_model") else _lce_toy_sequential
        model = builder(quantizer)
    else:
        from .errors import BnnkitError

        raise BnnkitError(f"unknown public model {name!r} (choose from {', '.join(ALL)})")
    model = randomize_batch_norms(model, seed)
    last = model.layers[-1]
    if not softmax and isinstance(last, keras.layers.Activation) and \
            last.get_config()["activation"] == "softmax":
        model = keras.Model(model.input, last.input, name=model.name)
    return model


def input_shape(name: str) -> tuple:
    if name in LARQ_ZOO:
        return LARQ_ZOO[name][1]
    return {**MLPERF_TINY, **LCE_END2END}[name]


def _where_sign(x):
    """LCE's test quantizer: a sign built from tf.where, no Larq op."""
    from .tfenv import tf

    return tf.where(x >= 0, tf.ones_like(x), -tf.ones_like(x))


def _lce_toy_model(quantizer):
    """Residual blocks of binary 3x3 convs: zero padding + ReLU, one padding + ReLU,
    one padding alone, then global average pooling."""
    from .tfenv import keras, lq

    inp = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(32, 3, strides=2, padding="same")(inp)
    for pad_values, activation in ((0.0, "relu"), (1.0, "relu"), (1.0, None)):
        y = lq.layers.QuantConv2D(32, 3, padding="same", pad_values=pad_values,
                                  input_quantizer=quantizer, kernel_quantizer=quantizer,
                                  use_bias=False, activation=activation)(x)
        y = keras.layers.BatchNormalization(beta_initializer="random_normal")(y)
        x = keras.layers.add([y, x])
    return keras.Model(inp, keras.layers.GlobalAvgPool2D()(x), name="lce_toy_model")


def _lce_toy_sequential(quantizer):
    """Float stem, float->binary and binary->binary max pools (one with a 3x2
    window and 1x2 stride), negative batch-norm scales, global average pooling."""
    from .tfenv import keras, lq

    def bconv(strides=1):
        return lq.layers.QuantConv2D(32, 3, strides=strides, padding="same", pad_values=1.0,
                                     input_quantizer=quantizer, kernel_quantizer=quantizer,
                                     use_bias=False)

    negative = keras.initializers.RandomNormal(mean=-0.1)
    return keras.Sequential([
        keras.Input((32, 32, 3)),
        keras.layers.Conv2D(16, 3, strides=2, padding="same"),
        keras.layers.BatchNormalization(),
        keras.layers.MaxPooling2D(2),
        bconv(), keras.layers.BatchNormalization(gamma_initializer=negative),
        bconv(2), keras.layers.BatchNormalization(gamma_initializer=negative),
        keras.layers.MaxPooling2D((3, 2), strides=(1, 2)),
        bconv(), keras.layers.BatchNormalization(),
        keras.layers.GlobalAvgPool2D(),
    ], name="lce_toy_sequential")


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
