"""``bnnkit report``: what the device measures, beside the papers.

With model files (``bnnkit report models/*.tflite --target T``): each model
through the target on its own test set, one table per (dataset, image count),
the papers' rows beside the shipped LeNets, per-layer instructions; Markdown,
JSON and one self-contained HTML page with the plots. Without: the suites,
paper 000's Table II (the LeNets) or paper 001's threshold lists (signnet).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from . import htmlpage, metadata
from .zoo import LENETS, PAPER_TABLE

# The papers the shipped models reproduce, cited by title.
PAPER_000 = ("\u201cOptimization of Neural Networks\u201d (K. Dziadek, J. Ko\u0142odziej, "
             "M. Borowiec, M. Bodu\u0142a, University of Lodz), Table II")
PAPER_001 = ("\u201cOptimizing CNNs Through Binarization\u201d (D. Pajak, P. Pietranek, "
             "P. \u015awiecki, F. Wawrzyniak, University of Lodz)")

COLUMNS = ("model", "paper acc %", "paper kB", "Keras test %", "Keras train %", "device acc %",
           "agreement %", "LCE .tflite B", "bnnkit model B", "flash B", "RAM B",
           "instr/inference")


def run(models_dir: Path, target: str, limit, data_dir, timeout, progress=True,
        names=LENETS, measured: dict | None = None) -> list[dict]:
    """Simulate each model, each followed by its int8 form where
    ``NAME_int8.tflite`` is shipped; ``measured`` holds records already taken
    (name -> record)."""
    from .simulate import simulate

    rows = []
    names = [n for name in names for n in (name, f"{name}_int8")
             if n == name or (models_dir / f"{n}.tflite").is_file()]
    for name in names:
        tfl = models_dir / f"{name}.tflite"
        if measured and name in measured:
            record = dict(measured[name])
        else:
            if progress:
                print(f"[report] {name} on {target} ...", file=sys.stderr, flush=True)
            record, _ = simulate(tfl, target, limit=limit, data_dir=data_dir, timeout=timeout,
                                 show_progress=progress, profile=True)
        meta = metadata.load(tfl)
        record.update(name=name, lce_flatbuffer_bytes=tfl.stat().st_size,
                      keras_test_accuracy=meta.get("keras_test_accuracy"),
                      keras_train_accuracy=meta.get("keras_train_accuracy"),
                      paper=PAPER_TABLE.get(name))
        rows.append(record)
    return rows


def _pct(v):
    return "" if v is None else f"{100 * v:.2f}"


def markdown(rows: list[dict], target: str) -> str:
    counts = sorted({r["n_images"] for r in rows})
    if len(counts) > 1:  # never side by side: one table per image count
        return "\n".join(markdown([r for r in rows if r["n_images"] == n], target)
                         for n in counts)
    n = counts[0] if counts else 0
    cols = [f"{c[:-2]} ({n:,} images) %" if c in ("device acc %", "agreement %") else c
            for c in COLUMNS]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        paper = r.get("paper") or {}
        cells = [r["name"], f"{paper.get('accuracy', '')}", f"{paper.get('kib', '')}",
                 _pct(r.get("keras_test_accuracy")), _pct(r.get("keras_train_accuracy")),
                 _pct(r["accuracy"]), _pct(r["agreement"]), f"{r['lce_flatbuffer_bytes']:,}",
                 f"{r['model_bytes']:,}", f"{r.get('flash_bytes', 0):,}" if "flash_bytes" in r else "-",
                 f"{r.get('ram_bytes', 0):,}" if "ram_bytes" in r else "-",
                 f"{r['instructions_per_inference']:,}" if "instructions_per_inference" in r else "-"]
        lines.append("| " + " | ".join(cells) + " |")
    n = rows[0]["n_images"] if rows else 0
    notes = [
        "",
        f"Target `{target}`, {n:,} Fashion-MNIST test images. Paper figures: {PAPER_000} "
        "(its kB are larq's KiB of the model summary). Keras accuracies from each "
        "model's sidecar. Device accuracy and agreement (same top-1 as LCE's interpreter on the "
        "same flatbuffer) measured by `bnnkit simulate`. bnnkit model B: all constant model data "
        "in the generated C. flash = text + rodata + data of the ELF; RAM = data + bss + measured "
        "stack high-water mark, harness I/O buffers excluded. instr/inference: instructions "
        "counted from QEMU's execution log (QEMU models no cycles: these are instructions, not "
        "cycles).",
    ]
    return htmlpage.md_safe("\n".join(lines + notes + per_layer(rows)) + "\n")


def per_layer(rows: list[dict]) -> list[str]:
    """Markdown lines: each profiled model's per-layer table (:mod:`bnnkit.profile`)."""
    from .profile import format_host_profile, format_profile

    lines = []
    for r in rows:
        if not r.get("layers"):
            continue
        if "input_instructions" in r:
            how = "instructions of the first test image (a -DBNN_PROFILE build)"
            table = format_profile(r["layers"], r["input_instructions"])
        else:
            how = "time per image on the machine that ran the report"
            table = format_host_profile(r["layers"])
        lines += ["", f"### {r['name']}: per layer, {how}", "", "```", table, "```"]
    if lines:
        lines = ["", "## Per layer", "",
                 "MACs: float multiply-adds; binary ops: XNOR-popcount bit operations; "
                 "instr/word: instructions per 32 binary ops."] + lines
    return lines


def plot(rows: list[dict], target: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for r in rows:
        flash = r.get("flash_bytes", r["model_bytes"]) / 1024
        ax.scatter(flash, 100 * r["accuracy"], color="C0")
        ax.annotate(r["name"], (flash, 100 * r["accuracy"]), textcoords="offset points",
                    xytext=(5, 5), fontsize=8)
        ax.scatter(r["model_bytes"] / 1024, 100 * r["accuracy"], color="C1", marker="^")
        ax.scatter(r["lce_flatbuffer_bytes"] / 1024, 100 * r["reference_accuracy"], color="C3",
                   marker="x")
        paper = r.get("paper")
        if paper:
            ax.scatter(paper["kib"], paper["accuracy"], color="C2", marker="s")
    ax.scatter([], [], color="C0", label=f"bnnkit on {target} (flash of the whole firmware)")
    ax.scatter([], [], color="C1", marker="^", label="bnnkit model constants alone")
    ax.scatter([], [], color="C3", marker="x", label="LCE .tflite size (LCE interpreter accuracy)")
    ax.scatter([], [], color="C2", marker="s", label="paper (Table II)")
    ax.set_xscale("log")
    ax.set_xlabel("size (KiB, log scale)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("LeNets on Fashion-MNIST: accuracy against size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


SIGN_COLUMNS = ("model", "thresholds", "channels", "epochs", "paper acc %", "Keras test %", "Keras train %",
                "device acc %", "agreement %", "bnnkit model B", "arena B", "flash B", "RAM B",
                "instr/inference")


def run_sign(models_dir: Path, target: str, limit, data_dir, timeout, progress=True):
    """The paper-001 suite: signnet_float and one signnet per threshold list."""
    from .signnet import PAPER_SIGN, model_name
    from .simulate import simulate

    rows = []
    runs = []
    for thresholds, paper in PAPER_SIGN.items():
        runs.append((thresholds, paper, model_name(thresholds)))
        longer = model_name(thresholds) + "_e24"  # the same recipe over 24 epochs, if shipped
        if (models_dir / f"{longer}.tflite").is_file():
            runs.append((thresholds, paper, longer))
    for thresholds, paper, name in runs:
        tfl = models_dir / f"{name}.tflite"
        if progress:
            print(f"[report] {name} on {target} ...", file=sys.stderr, flush=True)
        record, _ = simulate(tfl, target, limit=limit, data_dir=data_dir, timeout=timeout,
                             show_progress=progress)
        meta = metadata.load(tfl)
        record.update(name=name, thresholds=list(thresholds) if thresholds else None,
                      paper_accuracy=paper, epochs=meta.get("epochs"), keras_test_accuracy=meta.get("keras_test_accuracy"),
                      keras_train_accuracy=meta.get("keras_train_accuracy"))
        rows.append(record)
    return rows


def markdown_sign(rows: list[dict], target: str) -> str:
    lines = ["| " + " | ".join(SIGN_COLUMNS) + " |", "|" + "---|" * len(SIGN_COLUMNS)]
    for r in rows:
        t = r["thresholds"]
        cells = [r["name"], "float (x/255)" if t is None else str(t).replace(" ", ""),
                 "1" if t is None else str(len(t) - 1), str(r.get("epochs", "")),
                 f"{r['paper_accuracy']}",
                 _pct(r.get("keras_test_accuracy")), _pct(r.get("keras_train_accuracy")),
                 _pct(r["accuracy"]), _pct(r["agreement"]), f"{r['model_bytes']:,}",
                 f"{r['arena_bytes']:,}",
                 f"{r['flash_bytes']:,}" if "flash_bytes" in r else "-",
                 f"{r['ram_bytes']:,}" if "ram_bytes" in r else "-",
                 f"{r['instructions_per_inference']:,}" if "instructions_per_inference" in r else "-"]
        lines.append("| " + " | ".join(cells) + " |")
    n = rows[0]["n_images"] if rows else 0
    lines += ["", f"Target `{target}`, {n:,} Sign Language MNIST test images. Paper accuracies: "
              f"{PAPER_001} (its Tables I-III and text). The device takes raw uint8 pixels and "
              "thresholds them itself into bit-planes (one bit per pixel and channel); the first "
              "convolution adds the weights where bits are set."]
    return htmlpage.md_safe("\n".join(lines) + "\n")


def write_sign(rows: list[dict], target: str, docs: Path) -> Path:
    docs.mkdir(parents=True, exist_ok=True)
    md = docs / f"report-sign-{target}.md"
    md.write_text(f"# {PAPER_001}: binarized input, measured on {target}\n\n"
                  + markdown_sign(rows, target))
    (docs / f"report-sign-{target}.json").write_text(json.dumps(rows, indent=2, default=str) + "\n")
    return md


def write(rows: list[dict], target: str, docs: Path) -> tuple[Path, Path]:
    docs.mkdir(parents=True, exist_ok=True)
    md = docs / f"report-{target}.md"
    png = docs / f"report-{target}.png"
    md.write_text(f"# {PAPER_000}, measured on {target}\n\n" + markdown(rows, target))
    plot(rows, target, png)
    (docs / f"report-{target}.json").write_text(json.dumps(rows, indent=2, default=str) + "\n")
    return md, png


MODEL_COLUMNS = ("model", "reference", "device acc %", "reference acc %", "agreement %",
                 "Keras test % (sidecar)", "model B", "flash B", "RAM B", "instr/inference")


def run_models(paths, target: str, limit, data_dir, timeout, progress=True, data=None,
               input_spec=None, class_names=None, reference=None) -> list[dict]:
    """Simulate each model file on ``target`` (on its sidecar's dataset, or on
    ``data``: the user's .npz or image folder), profiled per layer; the records
    carry name, dataset, the sidecar's Keras accuracy and, for a shipped LeNet,
    its row of the paper's Table II (PAPER_000). ``input_spec`` and
    ``class_names`` replace the sidecars' preprocessing and names.

    Example:
        >>> rows = run_models(["models/lenet_bin3.tflite"], "host", 100, None, 600)  # doctest: +SKIP
        >>> rows[0]["n_images"], rows[0]["dataset"]                           # doctest: +SKIP
        (100, 'fashion_mnist')
    """
    from .simulate import simulate

    rows = []
    for i, path in enumerate(paths, 1):
        path = Path(path)
        if progress:
            print(f"[report {i}/{len(paths)}] {path.name} on {target} ...", file=sys.stderr,
                  flush=True)
        record, _ = simulate(path, target, limit=limit, data_dir=data_dir, timeout=timeout,
                             show_progress=progress, profile=True, data=data,
                             input_spec=input_spec, class_names=class_names,
                             reference=reference)
        meta = metadata.load(path)
        record.update(name=path.stem, dataset=Path(data).name if data else meta.get("dataset"),
                      lce_flatbuffer_bytes=path.stat().st_size,
                      keras_test_accuracy=meta.get("keras_test_accuracy"),
                      paper=PAPER_TABLE.get(path.stem))
        rows.append(record)
    return rows


def groups(rows: list[dict]) -> list[tuple[str, int, list[dict]]]:
    """Rows grouped by (dataset, number of test images), first appearance first:
    accuracies measured on different image sets are never put side by side.

    Example:
        >>> [(d, n, len(g)) for d, n, g in groups([dict(dataset="a", n_images=5),
        ...     dict(dataset="b", n_images=5), dict(dataset="a", n_images=5)])]
        [('a', 5, 2), ('b', 5, 1)]
    """
    out: dict = {}
    for r in rows:
        out.setdefault((r.get("dataset") or "?", r["n_images"]), []).append(r)
    return [(d, n, g) for (d, n), g in out.items()]


def _cells(r: dict) -> list[str]:
    num = lambda k: f"{r[k]:,}" if k in r else "-"  # noqa: E731
    # unlabelled --data has no accuracies, only agreement
    from .lower import REFERENCE_SHORT

    return [r["name"], REFERENCE_SHORT[r["reference"]], _pct(r.get("accuracy")),
            _pct(r.get("reference_accuracy")),
            _pct(r["agreement"]),
            _pct(r.get("keras_test_accuracy")), f"{r['model_bytes']:,}", num("flash_bytes"),
            num("ram_bytes"), num("instructions_per_inference")]


def _columns(n: int) -> list[str]:
    """MODEL_COLUMNS with the image count on every measured accuracy."""
    return [f"{c[:-2]} ({n:,} test images) %" if c in ("device acc %", "reference acc %",
                                                        "agreement %") else c
            for c in MODEL_COLUMNS]


def _paper_rows(rows: list[dict]) -> list[list[str]]:
    return [[r["name"], r["paper"]["label"], f"{r['paper']['accuracy']:.2f}",
             f"{r['paper']['kib']:.2f}", _pct(r["accuracy"]), f"{r['n_images']:,}",
             f"{r['model_bytes'] / 1024:.2f}", f"{r['lce_flatbuffer_bytes'] / 1024:.2f}"]
            for r in rows if r.get("paper")]


PAPER_COLUMNS = ("model", "paper's network", "paper acc %", "paper KiB", "device acc %",
                 "device images", "bnnkit model KiB", "LCE .tflite KiB")


def markdown_models(rows: list[dict], target: str) -> str:
    """Markdown: one table per (dataset, image count), the papers' rows beside
    the measurement, then each model's per-layer table."""
    lines = []
    for dataset, n, group in groups(rows):
        cols = _columns(n)
        lines += ["", f"## {dataset}, {n:,} test images, on {target}", "",
                  "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        lines += ["| " + " | ".join(_cells(r)) + " |" for r in group]
    paper = _paper_rows(rows)
    if paper:
        lines += ["", f"## Beside {PAPER_000}", "", "| " + " | ".join(PAPER_COLUMNS) + " |",
                  "|" + "---|" * len(PAPER_COLUMNS)] + ["| " + " | ".join(p) + " |" for p in paper]
    lines += ["", "Device accuracy: the generated C on the target; reference acc: the model's "
              "reference on the same flatbuffer and images (LCE: LCE's interpreter, for models "
              "with LCE ops and float models; TFLite reference: TFLite's reference kernels, "
              "what TFLite Micro and CMSIS-NN compute, for int8 models); agreement: same top-1. flash = text + rodata "
              "+ data of the example firmware; RAM = data + bss + measured stack; "
              "instr/inference: QEMU's instruction count (not cycles)."]
    return htmlpage.md_safe("\n".join(lines + per_layer(rows)) + "\n")


def html_models(rows: list[dict], target: str, path: Path, title: str) -> Path:
    """One self-contained HTML page: the tables, accuracy against flash with every
    point labelled, and the instructions (or host time) per layer of each model."""
    from . import htmlpage

    plt = htmlpage.pyplot()
    body = []
    for dataset, n, group in groups(rows):
        body += [f"<h2>{htmlpage.esc(dataset)}, {n:,} test images, on {htmlpage.esc(target)}</h2>",
                 htmlpage.table(_columns(n), [_cells(r) for r in group])]
        fig, ax = plt.subplots(figsize=(10, 5.5))
        for r in group:
            if "accuracy" not in r:
                continue
            size = r.get("flash_bytes", r["model_bytes"]) / 1024
            ax.scatter(size, 100 * r["accuracy"], color="C0")
            ax.annotate(r["name"], (size, 100 * r["accuracy"]), textcoords="offset points",
                        xytext=(5, 4), fontsize=8)
            if r.get("paper"):
                p = r["paper"]
                ax.scatter(p["kib"], p["accuracy"], color="C2", marker="s")
                ax.annotate(f"paper: {p['label']}", (p["kib"], p["accuracy"]), fontsize=8,
                            textcoords="offset points", xytext=(5, -10), color="C2")
        ax.scatter([], [], color="C0", label=f"bnnkit on {target}: "
                   + ("firmware flash" if any("flash_bytes" in r for r in group)
                      else "model constants"))
        if any(r.get("paper") for r in group):
            ax.scatter([], [], color="C2", marker="s", label="paper: Optimization of Neural Networks, Table II (KiB)")
        ax.set_xscale("log")
        ax.set_xlabel("KiB (log scale)")
        ax.set_ylabel(f"test accuracy, {n:,} images (%)")
        ax.set_title(f"accuracy against size: {dataset}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        body.append(htmlpage.figure(fig, f"accuracy against flash, {dataset}"))
    paper = _paper_rows(rows)
    if paper:
        body += [f"<h2>Beside {htmlpage.esc(PAPER_000)}</h2>",
                 htmlpage.table(PAPER_COLUMNS, paper)]
    profiled = [r for r in rows if r.get("layers")]
    if profiled:
        key = "instructions" if "instructions" in profiled[0]["layers"][0] else "us"
        fig, ax = plt.subplots(figsize=(10, 0.55 * len(profiled) + 1.8))
        for y, r in enumerate(profiled):
            left = 0
            for k, layer in enumerate(r["layers"]):
                value = layer.get(key, 0)
                ax.barh(y, value, left=left, color=f"C{k % 10}", edgecolor="white")
                if value > 0.08 * sum(x.get(key, 0) for x in r["layers"]):
                    ax.text(left + value / 2, y, f"{layer['layer']} {layer['kind']}", ha="center",
                            va="center", fontsize=7, color="white")
                left += value
        ax.set_yticks(range(len(profiled)), [r["name"] for r in profiled], fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel("instructions per inference, by layer (first test image)" if key ==
                      "instructions" else "microseconds per image, by layer (host)")
        ax.grid(True, axis="x", alpha=0.3)
        fig.tight_layout()
        body += ["<h2>Where the work goes, per layer</h2>",
                 htmlpage.figure(fig, "instructions per layer")]
        for r in profiled:
            total = sum(x.get(key, 0) for x in r["layers"]) or 1
            body += [f"<h3>{htmlpage.esc(r['name'])}</h3>",
                     htmlpage.table(["layer", "kind", "name", key, "share", "MACs",
                                     "binary ops"],
                                    [[x["layer"], x["kind"], x["name"],
                                      f"{x.get(key, 0):,}" if key == "instructions"
                                      else f"{x.get(key, 0):.2f}",
                                      f"{100 * x.get(key, 0) / total:.1f} %",
                                      f"{x.get('macs', 0):,}", f"{x.get('bops', 0):,}"]
                                     for x in r["layers"]])]
    body.append("<p class=\"note\">Measured by <code>bnnkit report</code>: device accuracy is "
                "the generated C on the target, reference acc the model's reference interpreter "
                "(LCE's, or TFLite's reference kernels for int8 models) on the same flatbuffer "
                "and images; instructions are QEMU's count, not cycles.</p>")
    return htmlpage.write(path, title, body)


def write_models(rows: list[dict], target: str, docs: Path, name: str) -> list[Path]:
    """report-NAME.md, .json and .html in ``docs``."""
    docs.mkdir(parents=True, exist_ok=True)
    title = f"bnnkit report: {len(rows)} model{'s' * (len(rows) != 1)} on {target}"
    md = docs / f"report-{name}.md"
    md.write_text(f"# {title}\n" + markdown_models(rows, target))
    js = docs / f"report-{name}.json"
    js.write_text(json.dumps(rows, indent=2, default=str) + "\n")
    return [md, js, html_models(rows, target, docs / f"report-{name}.html", title)]
