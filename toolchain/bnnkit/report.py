"""``bnnkit report``: the paper's Table II beside what the device measures.

Runs the shipped LeNets through a target, prints a Markdown table and writes it
(plus the raw records as JSON and a plot of accuracy against flash) to docs/.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from . import metadata
from .zoo import LENETS, PAPER_TABLE

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
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
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
        f"Target `{target}`, {n:,} Fashion-MNIST test images. Paper figures: Table II of "
        "paper 000 (its kB are larq's KiB of the model summary). Keras accuracies from each "
        "model's sidecar. Device accuracy and agreement (same top-1 as LCE's interpreter on the "
        "same flatbuffer) measured by `bnnkit simulate`. bnnkit model B: all constant model data "
        "in the generated C. flash = text + rodata + data of the ELF; RAM = data + bss + measured "
        "stack high-water mark, harness I/O buffers excluded. instr/inference: instructions "
        "counted from QEMU's execution log (QEMU models no cycles: these are instructions, not "
        "cycles).",
    ]
    return "\n".join(lines + notes + per_layer(rows)) + "\n"


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
              "paper 001 (its Tables I-III and text). The device takes raw uint8 pixels and "
              "thresholds them itself into bit-planes (one bit per pixel and channel); the first "
              "convolution adds the weights where bits are set."]
    return "\n".join(lines) + "\n"


def write_sign(rows: list[dict], target: str, docs: Path) -> Path:
    docs.mkdir(parents=True, exist_ok=True)
    md = docs / f"report-sign-{target}.md"
    md.write_text(f"# Paper 001 (binarized input) measured on {target}\n\n" + markdown_sign(rows, target))
    (docs / f"report-sign-{target}.json").write_text(json.dumps(rows, indent=2, default=str) + "\n")
    return md


def write(rows: list[dict], target: str, docs: Path) -> tuple[Path, Path]:
    docs.mkdir(parents=True, exist_ok=True)
    md = docs / f"report-{target}.md"
    png = docs / f"report-{target}.png"
    md.write_text(f"# Paper 000, Table II, measured on {target}\n\n" + markdown(rows, target))
    plot(rows, target, png)
    (docs / f"report-{target}.json").write_text(json.dumps(rows, indent=2, default=str) + "\n")
    return md, png
