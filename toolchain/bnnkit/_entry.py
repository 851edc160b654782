"""The ``bnnkit`` console script. Only the standard library is imported before
the signal handlers are in place, so Ctrl-C while the heavy modules load is one
line and exit 130, never a traceback."""

import signal
import sys


def run():
    """Entry point: ``bnnkit ...``."""
    def terminate(signum, frame):
        sys.stderr.write("bnnkit: terminated\n")
        sys.exit(143)

    signal.signal(signal.SIGTERM, terminate)  # until the CLI installs its own
    try:
        from .cli import main
    except KeyboardInterrupt:
        sys.stderr.write("bnnkit: interrupted\n")
        sys.exit(130)
    main.owns_process = True
    main()
