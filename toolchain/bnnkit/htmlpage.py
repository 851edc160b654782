"""One self-contained HTML page: tables and matplotlib figures inlined as PNG
data URIs, no scripts, no external files, so a report opens anywhere (and in a
headless browser in the tests). Every text is escaped: model and layer names
come from hostile files.
"""

from __future__ import annotations

import base64
import html
import io
import re
from pathlib import Path

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.5em; text-align: left; }
th { background: #eef2f7; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.fits { color: #176b2c; font-weight: bold; } .over { color: #a31515; font-weight: bold; }
img { max-width: 100%; border: 1px solid #ddd; margin: 0.5em 0; }
p.note { color: #555; font-size: 0.9em; }
"""


def esc(value) -> str:
    """``value`` as HTML text.

    Example:
        >>> esc("<conv1> & co")
        '&lt;conv1&gt; &amp; co'
    """
    return html.escape(str(value), quote=True)


def md_safe(markdown: str) -> str:
    """A Markdown document whose text cannot become HTML when it is rendered:
    ``&``, ``<`` and ``>`` as entities (bnnkit's reports put no HTML in their
    Markdown; file, tensor and spec names are text).

    Example:
        >>> md_safe("| <img src=x onerror=alert(1)> | 3 |")
        '| &lt;img src=x onerror=alert(1)&gt; | 3 |'
    """
    return markdown.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def table(columns, rows) -> str:
    """An HTML table; each cell is escaped.

    Example:
        >>> table(["layer", "MACs"], [["conv1", "117,600"]])
        '<table><tr><th>layer</th><th>MACs</th></tr><tr><td>conv1</td><td class="n">117,600</td></tr></table>'
    """
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _cell(value) -> str:
    """A cell; figures (digits, separators, a unit of %) align right."""
    text = str(value)
    number = re.fullmatch(r"[-+]?[\d,.]+( ?%)?", text) is not None
    return f"<td class=\"n\">{esc(text)}</td>" if number else f"<td>{esc(text)}</td>"


def png(fig) -> bytes:
    """A matplotlib figure as PNG bytes (no timestamp: deterministic), then closed."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def img(png_bytes: bytes, alt: str) -> str:
    """PNG bytes as an inline ``<img>`` (data URI)."""
    data = base64.b64encode(png_bytes).decode("ascii")
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{data}">'


def figure(fig, alt: str) -> str:
    """A matplotlib figure as an inline ``<img>`` (PNG data URI), then closed."""
    return img(png(fig), alt)


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def page(title: str, body: list[str]) -> str:
    """The whole document: ``body`` is HTML made by this module's helpers."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{esc(title)}</h1>\n" + "\n".join(body) + "\n</body></html>\n")


def write(path, title: str, body: list[str]) -> Path:
    """Write the page to ``path`` (via a temporary file, so never half-written,
    and nothing left behind when the disk is full)."""
    from .outdir import write_text

    return write_text(path, page(title, body))
