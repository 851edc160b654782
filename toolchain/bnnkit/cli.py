"""The ``bnnkit`` command: train -> convert -> gen-firmware -> simulate -> report.

Heavy imports (TensorFlow, LCE) happen inside commands so ``bnnkit --help``
stays fast and quiet.
"""

from __future__ import annotations

import functools
import os
import sys

import click

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from .errors import BnnkitError  # noqa: E402

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def friendly_errors(fn):
    """Turn BnnkitError into one line on stderr and its exit code; no traceback."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except BnnkitError as exc:
            click.echo(f"bnnkit: error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("bnnkit: interrupted", err=True)
            sys.exit(130)
        except OSError as exc:  # an unwritable -o, a full disk, a vanished file
            where = exc.filename or "bnnkit"
            click.echo(f"bnnkit: error: {where}: {exc.strerror or exc}", err=True)
            sys.exit(2)
    return wrapper


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="bnnkit")
def main():
    """Deploy binarized neural networks trained with Larq to microcontrollers.

    \b
    The pipeline, one command a step:
      bnnkit train lenet_bin3 -o models/lenet_bin3.h5
      bnnkit convert models/lenet_bin3.h5              # LCE -> .tflite
      bnnkit gen-firmware models/lenet_bin3.tflite --target cortex-m4 -o build/m4
      bnnkit simulate models/lenet_bin3.tflite --target cortex-m4
      bnnkit report --target cortex-m4

    Exit codes: 0 success, 1 a run failed (emulator crash, time-out), 2 bad input.
    """


from . import commands  # noqa: E402,F401  (registers the sub-commands)
