"""The ``bnnkit`` command: train -> convert -> gen-firmware -> simulate -> report.

Heavy imports (TensorFlow, LCE) happen inside commands so ``bnnkit --help``
stays fast and quiet.
"""

from __future__ import annotations

import os
import signal
import sys

import click

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from .errors import BnnkitError, one_line  # noqa: E402

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class Terminated(BaseException):
    """SIGTERM, raised like KeyboardInterrupt so every ``finally`` runs: staging
    and temporary folders are removed, child processes (QEMU, make) killed."""


def _terminate(signum, frame):
    raise Terminated()


class BnnkitGroup(click.Group):
    """Every failure ends as one line on stderr and an exit code, never a
    traceback: bad input 2 (click's usage errors too), a failed run 1,
    SIGINT 130, SIGTERM 143."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        previous = signal.signal(signal.SIGTERM, _terminate)
        try:
            rv = super().main(args, prog_name, complete_var, False, **extra)
        except click.ClickException as exc:
            where = exc.ctx.command_path if getattr(exc, "ctx", None) else "bnnkit"
            hint = f" (see '{where} --help')" if isinstance(exc, click.UsageError) else ""
            fail(f"{where}: {exc.format_message()}{hint}", exc.exit_code)
        except BnnkitError as exc:
            fail(str(exc), exc.exit_code)
        except (KeyboardInterrupt, click.Abort):
            fail("interrupted", 130, prefix="bnnkit: ")
        except Terminated:
            fail("terminated", 143, prefix="bnnkit: ")
        except OSError as exc:  # a full disk, a file that vanished mid-run
            fail(f"{exc.filename or 'bnnkit'}: {exc.strerror or exc}", 2)
        finally:
            signal.signal(signal.SIGTERM, previous)
        sys.exit(rv if isinstance(rv, int) else 0)


def fail(message: str, code: int, prefix: str = "bnnkit: error: "):
    click.echo(prefix + one_line(message), err=True)
    sys.exit(code)


@click.group(cls=BnnkitGroup, context_settings=CONTEXT)
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
