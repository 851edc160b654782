"""Options and value types several ``bnnkit`` commands share, declared once."""

from __future__ import annotations

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
