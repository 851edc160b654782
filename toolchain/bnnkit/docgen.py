"""The generated docs pages: the CLI reference from every command's ``--help``
and the supported-ops table from the op modules, so neither can drift from the
code (a test compares the committed pages with a fresh generation).

Run it (what ``make docs`` does)::

    python -m bnnkit.docgen docs
"""

from __future__ import annotations

import ast
import inspect
import sys
from pathlib import Path

HELP_WIDTH = 100  # fixed, so the pages do not depend on the terminal


def cli_reference() -> str:
    """docs/cli.md: ``bnnkit --help`` and each command's ``--help``, in order.

    Example:
        >>> "## bnnkit analyze" in cli_reference()
        True
    """
    import click

    from .cli import main

    root = click.Context(main, info_name="bnnkit", terminal_width=HELP_WIDTH,
                         max_content_width=HELP_WIDTH)
    parts = ["# Command-line reference", "",
             "Generated from `--help` by `python -m bnnkit.docgen docs` (`make docs`); every "
             "command also prints this with `bnnkit COMMAND --help`.", "",
             "```", main.get_help(root), "```"]
    for name in main.list_commands(root):
        cmd = main.get_command(root, name)
        if cmd is None or cmd.hidden:
            continue
        ctx = click.Context(cmd, info_name=name, parent=root, terminal_width=HELP_WIDTH,
                            max_content_width=HELP_WIDTH)
        parts += ["", f"## bnnkit {name}", "", "```", cmd.get_help(ctx), "```"]
    return "\n".join(parts) + "\n"


def _text(node) -> str:
    """A string or f-string literal of a problem message, with ``…`` for values."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "…" for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _text(node.left) + _text(node.right)
    return "…"


def refusals(module, cls=None) -> list[str]:
    """What an op refuses: the messages of the ``ctx.problem(...)`` calls in its
    module, outside the module's other op classes.

    Example:
        >>> from bnnkit.ops import conv2d
        >>> "dilated convolution" in refusals(conv2d, conv2d.Conv2D)
        True
    """
    found = []
    tree = ast.parse(inspect.getsource(module))
    tree.body = [s for s in tree.body if not (isinstance(s, ast.ClassDef) and cls is not None
                                              and s.name != cls.__name__)]
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "problem" and node.args):
            text = " ".join(_text(node.args[0]).split())
            if sum(c.isalpha() for c in text) >= 4 and text not in found:  # not all values
                found.append(text)
    return found


def ops_table() -> str:
    """docs/ops.md: per op module, the TFLite ops it lowers, its kernels, what it
    does (its docstring) and what it refuses (its problem messages).

    Example:
        >>> "| MAX_POOL_2D |" in ops_table()
        True
    """
    from . import ops

    by_class: dict = {}  # one entry per op class (a module may hold two)
    for kind in ops.REGISTRY.values():
        by_class.setdefault(type(kind), kind)
    lines = ["# Supported operators", "",
             "Generated from the op modules (`toolchain/bnnkit/ops/`) by `python -m "
             "bnnkit.docgen docs` (`make docs`). An op not listed here, or a case listed under "
             "*refuses*, stops `gen-firmware` with one line naming every such op.", "",
             "| TFLite op | inputs | bnnkit kind | kernels | refuses |", "|---|---|---|---|---|"]
    details = []
    for cls in sorted(by_class, key=lambda c: (by_class[c].tflite, by_class[c].dtype)):
        kind = by_class[cls]
        modname = cls.__module__
        module = sys.modules[modname]
        refused = refusals(module, cls)
        doc = " ".join((inspect.getdoc(module) or "").split("\n\n")[0].split())
        kernels = ", ".join(f"`{f}`" for f in kind.files) or "(none: a view)"
        kinds = ", ".join(sorted({kind.kind, *kind.kinds}))
        short = "; ".join(refused[:3]) + ("; …" if len(refused) > 3 else "")
        for op in kind.tflite:
            lines.append(f"| {op} | {kind.dtype} | {kinds} | {kernels} | "
                         f"{short.replace('|', '/') or '-'} |")
        details += ["", f"## {', '.join(kind.tflite)} ({kind.dtype})", "", doc or "-", "",
                    f"Module `{modname.replace('.', '/')}.py`; kernels {kernels}."]
        if refused:
            details += ["", "Refuses:", ""] + [f"- {r}" for r in refused]
    return "\n".join(lines + details) + "\n"


PAGES = {"cli.md": cli_reference, "ops.md": ops_table}


def write(docs: Path) -> list[Path]:
    """Write the generated pages into ``docs``."""
    out = []
    for name, make in PAGES.items():
        path = Path(docs) / name
        path.write_text(make(), encoding="utf-8")
        out.append(path)
    return out


if __name__ == "__main__":
    for p in write(Path(sys.argv[1] if len(sys.argv) > 1 else "docs")):
        print(f"wrote {p}")
