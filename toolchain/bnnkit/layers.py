"""Keras layers of bnnkit's own (loaded through :func:`bnnkit.zoo.custom_objects`)."""

from __future__ import annotations

from .errors import BnnkitError


def validate_thresholds(thresholds) -> list[int]:
    """Check a threshold list ``[t0, ..., tn]``: integers in 0..255, strictly
    increasing, at least two values. Returns it as a list of ints."""
    try:
        values = [int(t) for t in thresholds]
        if any(float(t) != int(t) for t in thresholds):
            raise ValueError
    except (TypeError, ValueError, OverflowError):
        raise BnnkitError(f"thresholds {list(thresholds)!r}: values must be integers") from None
    if len(values) < 2:
        raise BnnkitError(f"thresholds {values}: need at least two values (one interval)")
    if any(t < 0 or t > 255 for t in values):
        raise BnnkitError(f"thresholds {values}: values must lie in 0..255")
    if len(set(values)) != len(values):
        raise BnnkitError(f"thresholds {values}: duplicate values")
    if values != sorted(values):
        raise BnnkitError(f"thresholds {values}: values must be increasing")
    return values


def parse_thresholds(text: str) -> list[int]:
    """Parse ``"0,90,150,255"`` (the CLI form) and validate it.

    Example:
        >>> parse_thresholds("0, 90,150,255")
        [0, 90, 150, 255]
        >>> parse_thresholds("inf,255")
        Traceback (most recent call last):
        bnnkit.errors.BnnkitError: thresholds [inf, 255.0]: values must be integers
    """
    try:
        raw = [float(p) for p in text.replace(" ", "").split(",") if p != ""]
    except ValueError:
        raise BnnkitError(f"thresholds {text!r}: not a comma-separated list of numbers") from None
    return validate_thresholds(raw)


def channel_bounds(thresholds, mode: str) -> tuple[list[float], list[float]]:
    """Per-channel [lower, upper) bounds on raw pixels.

    ``interval``: channel k is 1 where ``t_k <= p < t_{k+1}``, the last interval
    closed at 255 (upper bound 256). ``thermometer``: one channel per interior
    threshold, channel k is 1 where ``p >= t_{k+1}`` (upper 256): the outer
    values only bound the range, as in the interval mode.
    """
    t = validate_thresholds(thresholds)
    if mode == "interval":
        lower = t[:-1]
        upper = t[1:-1] + [256]
    elif mode == "thermometer":
        if len(t) < 3:
            raise BnnkitError(f"thresholds {t}: thermometer mode needs an interior threshold")
        lower = t[1:-1]
        upper = [256] * len(lower)
    else:
        raise BnnkitError(f"unknown encoding mode {mode!r} (use 'interval' or 'thermometer')")
    return [float(v) for v in lower], [float(v) for v in upper]


def encode_numpy(images, thresholds, mode: str = "interval"):
    """Reference encoding: uint8/float (..., 1) or (...) images -> float32 0/1 channels."""
    import numpy as np

    lower, upper = channel_bounds(thresholds, mode)
    x = np.asarray(images, dtype=np.float32)
    if x.shape[-1] != 1:
        x = x[..., np.newaxis]
    lo = np.array(lower, np.float32)
    hi = np.array(upper, np.float32)
    return ((x >= lo) & (x < hi)).astype(np.float32)


def _make_layer_class():
    from .tfenv import keras, tf

    class ThresholdEncoding(keras.layers.Layer):
        """Cut raw 0..255 pixels into n binary channels at ``thresholds``.

        Example:
            >>> enc = ThresholdEncoding([0, 150, 255])           # doctest: +SKIP
            >>> enc(tf.constant([[[[10.], [200.]]]])).numpy()    # doctest: +SKIP
            array([[[[1., 0.], [0., 1.]]]], dtype=float32)
        """

        def __init__(self, thresholds, mode="interval", **kwargs):
            super().__init__(**kwargs)
            self.thresholds = validate_thresholds(thresholds)
            self.mode = mode
            self.lower, self.upper = channel_bounds(self.thresholds, mode)

        def call(self, inputs):
            lo = tf.constant(self.lower, tf.float32)
            hi = tf.constant(self.upper, tf.float32)
            inside = tf.logical_and(inputs >= lo, inputs < hi)
            return tf.cast(inside, tf.float32)

        def compute_output_shape(self, input_shape):
            return tuple(input_shape[:-1]) + (len(self.lower),)

        def get_config(self):
            return {**super().get_config(), "thresholds": self.thresholds, "mode": self.mode}

    return ThresholdEncoding


def __getattr__(name):  # build the Keras class lazily: no TensorFlow import for --help
    if name == "ThresholdEncoding":
        cls = _make_layer_class()
        globals()[name] = cls
        return cls
    raise AttributeError(name)
