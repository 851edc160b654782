"""Options and value types several ``bnnkit`` commands share, declared once."""

from __future__ import annotations

import functools
import math

import click

from ..targets import TARGETS

DATASET_CHOICE = click.Choice(["fashion-mnist", "sign-mnist"])
COUNT = click.IntRange(min=1)  # --limit, --epochs, --batch-size, budgets: 1 or more
SEED = click.IntRange(0, 2 ** 32 - 1)  # what numpy and TensorFlow take
TARGET_CHOICE = click.Choice(list(TARGETS))  # the one table of targets
TARGETS_HELP = "; ".join(f"{name}: {t.summary}" for name, t in TARGETS.items()) + "."


class FiniteFloat(click.ParamType):
    """A finite number (no nan, no inf); ``positive``: above 0; ``nonzero``: not 0."""

    name = "number"

    def __init__(self, positive: bool = False, nonzero: bool = False, maximum=None):
        self.positive, self.nonzero, self.maximum = positive, nonzero, maximum

    def convert(self, value, param, ctx):
        try:
            v = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(v):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        if self.positive and v <= 0:
            self.fail(f"{value!r} must be above 0", param, ctx)
        if self.nonzero and v == 0:
            self.fail(f"{value!r} must not be 0", param, ctx)
        if self.maximum is not None and v > self.maximum:
            self.fail(f"{value!r} must be at most {self.maximum:g}", param, ctx)
        return v


TIMEOUT = FiniteFloat(positive=True, maximum=1e6)  # seconds: 11 days at most

data_dir_option = click.option(
    "--data-dir", type=click.Path(file_okay=False),
    help="Where the built-in datasets' files are (else $BNNKIT_DATA_DIR; Fashion-MNIST also "
         "/usr/share/datasets/fashion-mnist, ~/.cache/bnnkit, then its official mirror).")


def _read_class_names(ctx, param, value):
    if value is None:
        return None
    from ..metadata import read_class_names

    return read_class_names(value)


class_names_option = click.option(
    "--class-names", type=click.Path(dir_okay=False), callback=_read_class_names,
    help="A text file of class names, one per line in the model's output order (instead "
         "of the sidecar's).")

user_data_option = click.option(
    "--data", "user_data",
    help="Your own inputs instead of a built-in test set: an .npz (x, optional y: the "
         "accuracies need it) or a folder of images in class sub-folders, as validate reads "
         "them.")

io_option = click.option(
    "--io", type=click.Choice(["model", "float"]), default="model", show_default=True,
    help="model: NAME_run takes and gives the model's own tensors (int8 for an int8 model). "
         "float: float32 in and out, quantized and dequantized inside NAME_run with the "
         "model's scales and zero points (an int8 model only).")

reference_option = click.option(
    "--reference", type=click.Choice(["tflite", "lce"]), default=None,
    help="Whose int8 arithmetic the C reproduces and is checked against: tflite (TFLite's "
         "reference kernels, what TFLite Micro and CMSIS-NN compute) or lce (LCE's "
         "interpreter, TFLite's optimized x86 kernels). Default: tflite for an int8 model "
         "without LCE ops, else lce (LCE's ops have no other reference).")


class FloatList(click.ParamType):
    """Comma-separated finite numbers, one per channel: ``0.485,0.456,0.406``."""

    name = "numbers"

    def convert(self, value, param, ctx):
        if isinstance(value, list):
            return value
        parts = str(value).split(",")
        if len(parts) > 4096:
            self.fail("at most 4096 values", param, ctx)
        return [FiniteFloat().convert(p.strip(), param, ctx) for p in parts]


def input_spec_from_options(input_kind, scale, offset, mean, std):
    """--input/--scale/--offset/--mean/--std as a preprocessing spec (None: the
    model's sidecar decides).

    Example:
        >>> input_spec_from_options("uint8", None, 0.0, [0.5], [0.25])["description"]
        'x = (float32(pixel) * 0.003921568859368563 - mean[c]) / std[c], 1 channel'
    """
    from .. import preprocess
    from ..errors import BnnkitError

    given = scale is not None or offset or mean is not None or std is not None
    if input_kind is None:
        if given:
            raise BnnkitError("--scale, --offset, --mean and --std need --input uint8")
        return None
    if input_kind == "float32":
        if given:
            raise BnnkitError("--scale, --offset, --mean and --std only apply to --input uint8")
        return dict(preprocess.FLOAT_INPUT)
    return preprocess.uint8_scale(1 / 255 if scale is None else scale, offset, mean=mean, std=std)


_PREPROCESSING = (
    click.option("--input", "input_kind", type=click.Choice(["uint8", "float32"]),
                 help="What the model is fed: uint8 pixels, scaled as below, or its own float32 "
                      "input. Default: the sidecar's preprocessing (uint8 pixels for models "
                      "bnnkit trained), else the model's own input."),
    click.option("--scale", type=FiniteFloat(nonzero=True), default=None,
                 help="With --input uint8: x = pixel * SCALE + OFFSET in float32 (default 1/255)."),
    click.option("--offset", type=FiniteFloat(), default=0.0, show_default=True,
                 help="With --input uint8: added after the scale."),
    click.option("--mean", type=FloatList(), default=None,
                 help="With --input uint8 and --std: per channel x = (pixel * SCALE - MEAN[c]) / "
                      "STD[c], comma-separated, one value or one per channel "
                      "(0.485,0.456,0.406 for ImageNet's, with the default scale 1/255)."),
    click.option("--std", type=FloatList(), default=None,
                 help="With --mean: the per-channel divisor (0.229,0.224,0.225 for ImageNet's)."),
)


def preprocessing_options(command):
    """Add --input, --scale, --offset, --mean and --std to ``command``, which
    receives them as one ``input_spec`` (see :func:`input_spec_from_options`)."""
    @functools.wraps(command)
    def wrapper(*args, input_kind, scale, offset, mean, std, **kwargs):
        return command(*args, input_spec=input_spec_from_options(input_kind, scale, offset,
                                                                 mean, std), **kwargs)

    for option in reversed(_PREPROCESSING):
        wrapper = option(wrapper)
    return wrapper
