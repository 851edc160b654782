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

from ..errors import BnnkitError, one_line  # noqa: E402

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class Terminated(BaseException):
    """SIGTERM, raised like KeyboardInterrupt so every ``finally`` runs: staging
    and temporary folders are removed, child processes (QEMU, make) killed."""


_pending: list[type[BaseException]] = []


def _importing(frame) -> bool:
    """True while an ``import`` runs somewhere up the stack."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _stop(exc_type: type[BaseException], frame) -> None:
    """Raise ``exc_type`` now, or just after the import in progress: an
    exception raised inside a C extension's import (numpy, TensorFlow) comes out
    as an ImportError with a traceback already printed."""
    if _importing(frame):
        if not _pending:
            _pending.append(exc_type)
        signal.setitimer(signal.ITIMER_REAL, 0.005)
        return
    raise exc_type()


def _retry(signum, frame):
    if _pending:
        _stop(_pending.pop(), frame)


def _interrupt(signum, frame):
    _stop(KeyboardInterrupt, frame)


def _terminate(signum, frame):
    _stop(Terminated, frame)


class BnnkitGroup(click.Group):
    """Every failure ends as one line on stderr and an exit code, never a
    traceback: bad input 2 (click's usage errors too), a failed run 1,
    SIGINT 130, SIGTERM 143.

    ``owns_process`` (set by the console script): once the outcome is printed,
    later signals are ignored rather than restored, so a Ctrl-C landing during
    the exit cannot add a second message or kill the process with SIGINT."""

    owns_process = False

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        ours = [(signal.SIGTERM, _terminate), (signal.SIGALRM, _retry)]
        if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # nohup, `cmd &`
            ours.append((signal.SIGINT, _interrupt))
        handlers = {sig: signal.signal(sig, handler) for sig, handler in ours}
        failure = None  # (message, exit code, prefix), printed once signals are settled
        try:
            rv = super().main(args, prog_name, complete_var, False, **extra)
        except click.ClickException as exc:
            where = exc.ctx.command_path if getattr(exc, "ctx", None) else "bnnkit"
            hint = f" (see '{where} --help')" if isinstance(exc, click.UsageError) else ""
            failure = (f"{where}: {exc.format_message()}{hint}", exc.exit_code, ERROR)
        except BnnkitError as exc:
            failure = (str(exc), exc.exit_code, ERROR)
        except (KeyboardInterrupt, click.Abort):
            failure = ("interrupted", 130, "bnnkit: ")
        except Terminated:
            failure = ("terminated", 143, "bnnkit: ")
        except OSError as exc:  # a full disk, a file that vanished mid-run
            failure = (f"{exc.filename or 'bnnkit'}: {exc.strerror or exc}", 2, ERROR)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)  # a deferred signal lost to the exit
            for sig, handler in handlers.items():
                signal.signal(sig, signal.SIG_IGN if self.owns_process else handler)
        if failure:
            fail(failure[0], failure[1], prefix=failure[2])
        sys.exit(rv if isinstance(rv, int) else 0)


ERROR = "bnnkit: error: "


def fail(message: str, code: int, prefix: str = ERROR):
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
