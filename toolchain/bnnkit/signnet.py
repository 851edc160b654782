"""signnet: the CNN for 28x28 Sign Language MNIST images (24 letters).

Paper 001 does not print its layers, so signnet reuses paper 000's LeNet trunk
(Conv 6@5x5 -> pool -> Conv 16@5x5 -> pool) and classifier (Dense 120, 84,
ReLU) with a 24-way softmax: small enough for a Cortex-M4's flash in float32,
and the same network whether the input is the grayscale image (float baseline)
or n binary threshold channels (:class:`bnnkit.layers.ThresholdEncoding`).
"""

from __future__ import annotations


def build_signnet(n_classes: int = 24, input_layers=None):
    from .tfenv import keras
    from .zoo import _lenet_trunk

    inputs = keras.Input((28, 28, 1), name="image")
    x = inputs
    for layer in input_layers or ():
        x = layer(x)
    x = _lenet_trunk(keras, x)
    x = keras.layers.Dense(120, activation="relu", name="fc1")(x)
    x = keras.layers.Dropout(0.25, name="drop1")(x)
    x = keras.layers.Dense(84, activation="relu", name="fc2")(x)
    x = keras.layers.Dense(n_classes, activation="softmax", name="fc3")(x)
    return keras.Model(inputs, x, name="signnet")


# Paper 001's accuracies (%) on Sign Language MNIST; None is the float baseline.
PAPER_SIGN = {
    None: 94.9,
    (0, 150, 255): 90.3,
    (0, 200, 255): 62.5,
    (0, 150, 170, 255): 92.7,
    (0, 150, 170, 200, 255): 91.7,
    (0, 90, 150, 170, 255): 94.8,
    (0, 90, 150, 170, 210, 255): 95.6,
    (0, 150, 170, 190, 210, 230, 255): 93.4,
    (0, 90, 120, 150, 180, 210, 230, 255): 94.7,
}


def model_name(thresholds) -> str:
    """signnet_float, or signnet_t0_90_150_255 for a threshold list."""
    return "signnet_float" if thresholds is None else "signnet_t" + "_".join(map(str, thresholds))
