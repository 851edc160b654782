"""Kernel parameter structs, declared once: the C typedef in the kernel's header.

Python never repeats a struct's field order. :func:`struct_fields` reads it from
the typedef in ``runtime/kernels/*.h``; :func:`initializer` turns named values
into the C initializer in that order (and refuses a missing or unknown name);
:func:`ctypes_struct` gives the tests the same struct for ctypes. Reordering,
adding or renaming a field in the header therefore changes every emitter and
test with it, or stops them with the field's name.

Example:
    >>> struct_fields("bnn_transpose_params")
    (('in_shape', 4), ('perm', 4))
    >>> initializer("bnn_transpose_params", perm=[0, 2, 1, 3], in_shape=[1, 2, 3, 4])
    '{{1, 2, 3, 4}, {0, 2, 1, 3}}'
"""

from __future__ import annotations

import re
from functools import lru_cache

from .errors import BnnkitError
from .targets import RUNTIME_DIR


@lru_cache(maxsize=None)
def _declarations() -> dict:
    """struct name -> ((field, count), ...) for every typedef struct of the
    runtime's kernel headers (every field an int32_t; count 0 for a scalar)."""
    found = {}
    for header in sorted((RUNTIME_DIR / "kernels").glob("*.h")):
        text = re.sub(r"/\*.*?\*/|//[^\n]*", "", header.read_text(), flags=re.S)
        macros = {m: int(v) for m, v in re.findall(r"#\s*define\s+(\w+)\s+(\d+)\s*$", text, re.M)}
        for body, name in re.findall(r"typedef\s+struct\s*\{(.*?)\}\s*(\w+)\s*;", text, re.S):
            fields = []
            for decl in filter(None, (d.strip() for d in body.split(";"))):
                ctype, _, names = decl.partition(" ")
                if ctype != "int32_t":
                    raise BnnkitError(f"{header.name}: {name}: field type {ctype} (int32_t only)")
                for item in names.split(","):
                    m = re.fullmatch(r"\s*(\w+)\s*(?:\[\s*(\w+)\s*\])?\s*", item)
                    if m is None:
                        raise BnnkitError(f"{header.name}: {name}: cannot read field {item!r}")
                    size = m.group(2)
                    count = 0 if size is None else int(macros.get(size, size))
                    fields.append((m.group(1), count))
            found[name] = tuple(fields)
    return found


def struct_fields(name: str) -> tuple:
    """The fields of kernel struct ``name`` in declaration order, as
    ``(field, count)`` (count 0: a scalar int32_t, else an array)."""
    try:
        return _declarations()[name]
    except KeyError:
        raise BnnkitError(f"internal: no kernel struct {name}") from None


def initializer(name: str, **values) -> str:
    """The C initializer of struct ``name`` from every field's value by name
    (integers; arrays as sequences of their full length; a C constant such as
    ``"INT32_MIN"`` as text).

    Example:
        >>> initializer("bnn_transpose_params", perm=[0, 1, 2, 3])
        Traceback (most recent call last):
        bnnkit.errors.BnnkitError: internal: bnn_transpose_params: missing in_shape
    """
    fields = struct_fields(name)
    declared = {f for f, _ in fields}
    missing = [f for f, _ in fields if f not in values]
    unknown = sorted(set(values) - declared)
    if missing or unknown:
        raise BnnkitError(f"internal: {name}: " + "; ".join(
            part for part in (missing and "missing " + ", ".join(missing),
                              unknown and "unknown " + ", ".join(unknown)) if part))
    items = []
    for field, count in fields:
        v = values[field]
        if count:
            v = [int(x) for x in v]
            if len(v) != count:
                raise BnnkitError(f"internal: {name}.{field}: {len(v)} values for {count}")
            items.append("{" + ", ".join(map(str, v)) + "}")
        elif isinstance(v, str):  # a C constant the emitter spells (INT32_MIN)
            if not re.fullmatch(r"[A-Z0-9_]+|\(-?\d+ - 1\)", v):
                raise BnnkitError(f"internal: {name}.{field}: {v!r} is not a C constant")
            items.append(v)
        else:
            items.append(str(int(v)))
    return "{" + ", ".join(items) + "}"


def ctypes_struct(name: str):
    """A ctypes.Structure of kernel struct ``name`` (for tests calling kernels).

    Example:
        >>> p = ctypes_struct("bnn_transpose_params")(in_shape=(1, 2, 3, 4))
        >>> list(p.in_shape), list(p.perm)
        ([1, 2, 3, 4], [0, 0, 0, 0])
    """
    import ctypes

    fields = [(f, ctypes.c_int32 * count if count else ctypes.c_int32)
              for f, count in struct_fields(name)]
    return type(name, (ctypes.Structure,), {"_fields_": fields})
