"""``python -m bnnkit ...``: the same as the ``bnnkit`` console script."""

from bnnkit._entry import run

run()
