"""One module per op kind (see :mod:`bnnkit.ops.base`).

Every module of this package is imported here, so writing ``ops/<op>.py`` with a
``@register``-ed class is all it takes for lowering, emission, the cost report and
the numpy reference to know it.

Example:
    >>> from bnnkit.ops import BY_TFLITE, REGISTRY
    >>> BY_TFLITE["MAX_POOL_2D"].kind
    'maxpool'
    >>> REGISTRY["bconv2d"].kernel_files(None)
    ['bnn_bconv2d.c', 'bnn_popcount.c']
"""

import importlib
import pkgutil

from .base import (BY_TFLITE, BY_TFLITE_INT8, REGISTRY, Cost, Node, OpKind, kind_for, op_kind,
                   prod, register)

for _mod in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if _mod != "base" and not _mod.startswith("_"):
        importlib.import_module(f"{__name__}.{_mod}")

__all__ = ["BY_TFLITE", "BY_TFLITE_INT8", "REGISTRY", "Cost", "Node", "OpKind", "kind_for",
           "op_kind", "prod", "register"]
