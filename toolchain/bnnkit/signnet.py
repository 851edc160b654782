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

    inputs = keras.Input((28, 28, 1), name="image")
    x = inputs
    for layer in input_layers or ():
        x = layer(x)
    x = keras.layers.Conv2D(6, 5, padding="same", activation="relu", name="conv1")(x)
    x = keras.layers.MaxPooling2D(2, name="pool1")(x)
    x = keras.layers.Conv2D(16, 5, padding="same", activation="relu", name="conv2")(x)
    x = keras.layers.MaxPooling2D(2, name="pool2")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(120, activation="relu", name="fc1")(x)
    x = keras.layers.Dropout(0.25, name="drop1")(x)
    x = keras.layers.Dense(84, activation="relu", name="fc2")(x)
    x = keras.layers.Dense(n_classes, activation="softmax", name="fc3")(x)
    return keras.Model(inputs, x, name="signnet")
