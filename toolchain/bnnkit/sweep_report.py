"""Figures and tables of a finished sweep (``bnnkit sweep-report DIR``).

For each group of the spec: accuracy against the swept parameter, ours (the
generated C on the host over the whole test set) beside the paper's values
where the spec gives them. For the whole sweep: the Pareto fronts of accuracy
against flash and against instructions per inference on the device, every
point labelled. With a threshold search: its best list against the paper's best
hand-picked list with the same number of channels, and the verdict.

Writes ``DIR/report.md`` (with ``DIR/GROUP.png`` and ``DIR/pareto.png``) and one
self-contained ``DIR/report.html``.

Example:
    >>> from bnnkit.sweep_report import write_report
    >>> write_report("docs/sweeps/paper000-figs5-8")     # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from . import htmlpage
from .errors import BnnkitError
from .outdir import write_bytes, write_text
from .sweep import (best_search_record, load_records, load_spec, rival_record, search_stages,
                    trial_id)


def point_label(params: dict, keys) -> str:
    """How a trial reads on a figure's axis: only the parameters the group sweeps.

    Example:
        >>> point_label({"arch": "lenet_bin1", "binary_widths": [40], "batch_size": 64},
        ...             ["binary_widths", "batch_size"])
        'Dense=40 batch=64'
        >>> point_label({"arch": "lenet_float", "binary_widths": None}, ["arch", "binary_widths"])
        'float'
    """
    parts = []
    for key in keys:
        value = params.get(key)
        if key == "arch":
            if value == "lenet_float":
                parts.append("float")
            elif "binary_widths" not in keys:
                parts.append(str(value))
        elif key == "binary_widths":
            if value is not None:
                parts.append("Dense=" + (str(value[0]) if len(value) == 1
                                         else "(" + ", ".join(map(str, value)) + ")"))
        elif key == "thresholds":
            parts.append("grayscale" if value is None else "[" + ", ".join(map(str, value)) + "]")
        elif key == "batch_size":
            parts.append(f"batch={value}")
        else:
            parts.append(f"{key}={value}")
    return " ".join(parts)


def short_label(record: dict) -> str:
    """A point's name on the Pareto plots: what distinguishes it in the sweep."""
    p = record["params"]
    parts = [p["arch"].replace("lenet_", "")]
    if p["binary_widths"] is not None:
        parts.append("/".join(map(str, p["binary_widths"])))
    if p["thresholds"] is not None:
        parts.append("t" + ",".join(map(str, p["thresholds"][1:-1])))
    elif p["arch"] == "signnet":
        parts.append("grayscale")
    if p["batch_size"] != 64:
        parts.append(f"b{p['batch_size']}")
    return " ".join(parts)


def pareto(records: list[dict], cost: str) -> list[dict]:
    """The points no other point beats on both accuracy (higher) and ``cost`` (lower).

    Example:
        >>> pts = [{"accuracy": .9, "flash": 10}, {"accuracy": .8, "flash": 20},
        ...        {"accuracy": .95, "flash": 30}]
        >>> [p["flash"] for p in pareto(pts, "flash")]
        [10, 30]
    """
    front, best = [], -1.0
    for r in sorted(records, key=lambda r: (r[cost], -r["accuracy"])):
        if r["accuracy"] > best:
            front.append(r)
            best = r["accuracy"]
    return front


def collect(out_dir) -> tuple:
    """The spec (as run) and the records of ``out_dir``, each group's records in order."""
    out = Path(out_dir)
    if not out.is_dir():
        raise BnnkitError(f"{out}: no such sweep folder")
    spec_path = out / "spec.yaml"
    if not spec_path.is_file():
        raise BnnkitError(f"{out}: not a sweep folder (no spec.yaml; run 'bnnkit sweep' into it)")
    spec = load_spec(spec_path)
    records = {k: r for k, r in load_records(out, strict=True).items()
               if r["status"] == "ok" and r.get("spec") == spec.name}
    if not records:
        raise BnnkitError(f"{out}: no finished trials of {spec.name} yet")
    groups = []
    for group in spec.groups:
        rows = []
        for params in group.trials:
            rec = records.get(trial_id(params, spec.dataset, spec.target, spec.test_limit))
            if rec is not None:
                rows.append(rec)
        groups.append((group, rows))
    return spec, records, groups


def _seed_runs(records: dict, rec: dict) -> list[dict]:
    """``rec``'s trial and its reruns with other seeds (the confirmation)."""
    same = {k: v for k, v in rec["params"].items() if k != "seed"}
    return sorted((r for r in records.values()
                   if {k: v for k, v in r["params"].items() if k != "seed"} == same),
                  key=lambda r: r["params"]["seed"])


def search_verdict(spec, records: dict):
    """The threshold search's best list against the paper's best hand-picked list
    with as many channels and the same training, or None without a search.

    The best list is chosen on the search's own seed; with ``confirm_seeds``
    both lists were trained again with those seeds, and the verdict compares the
    mean accuracy over the seeds that played no part in the choice."""
    if spec.search is None:
        return None
    best = best_search_record(spec, records, search_stages(spec))
    rival = rival_record(spec, records)
    searched = [r for r in records.values() if r["group"] == spec.search["name"]
                and r["stage"] in search_stages(spec)]
    verdict = {"best": best, "rival": rival, "channels": spec.search["channels"],
               "trials": len(searched), "as_good": None, "confirm": None}
    if best is None or rival is None:
        return verdict
    verdict["as_good"] = best["accuracy"] >= rival["accuracy"]
    seeds = set(spec.search["confirm_seeds"]) - {best["params"]["seed"]}
    runs = {name: [r for r in _seed_runs(records, rec) if r["params"]["seed"] in seeds]
            for name, rec in (("best", best), ("rival", rival))}
    if seeds and all(len(v) == len(seeds) for v in runs.values()):
        mean = {k: sum(r["accuracy"] for r in v) / len(v) for k, v in runs.items()}
        verdict["confirm"] = {"seeds": sorted(seeds), "best": mean["best"],
                              "rival": mean["rival"],
                              "best_each": [r["accuracy"] for r in runs["best"]],
                              "rival_each": [r["accuracy"] for r in runs["rival"]]}
        verdict["as_good"] = mean["best"] >= mean["rival"]
    return verdict


def _designs(records: dict) -> list[dict]:
    """Each design once: the confirmation's reruns with other seeds left out."""
    return [r for r in records.values() if r["stage"] != "confirm"]


def _pct(v) -> str:
    return f"{100 * v:.2f} %"


def _row(r: dict, label: str) -> list[str]:
    return [label, _pct(r["accuracy"]), _pct(r["lce_accuracy"]), _pct(r["agreement"]),
            f"{r['model_bytes']:,}", f"{r['flash_bytes']:,}", f"{r['ram_bytes']:,}",
            f"{r['instructions_per_inference']:,}", f"{r['timings']['total_s']:.0f}"]


def _columns(spec) -> list[str]:
    return ["trial", "accuracy (generated C)", "LCE accuracy", "agreement", "model B",
            f"flash B ({spec.target})", "RAM B", "instructions", "trial s"]


def group_figure(spec, group, rows):
    """Bars: our accuracy per point; diamonds: the paper's values at the same labels."""
    plt = htmlpage.pyplot()
    labels = [point_label(r["params"], group.x) for r in rows]
    for p in group.paper:
        if p["x"] not in labels:
            labels.append(p["x"])
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(labels) + 2), 4.2))
    ours = {point_label(r["params"], group.x): 100 * r["accuracy"] for r in rows}
    xs = range(len(labels))
    bars = ax.bar([i for i, lab in enumerate(labels) if lab in ours],
                  [ours[lab] for lab in labels if lab in ours], color="#3b73b9",
                  label=f"bnnkit: generated C on the host, {rows[0]['test_images']:,} test images"
                  if rows else "bnnkit")
    for bar in bars:
        ax.annotate(f"{bar.get_height():.1f}", (bar.get_x() + bar.get_width() / 2,
                                                 bar.get_height()),
                    ha="center", va="bottom", fontsize=8)
    if group.paper:
        idx = [labels.index(p["x"]) for p in group.paper]
        ax.scatter(idx, [p["accuracy"] for p in group.paper], marker="D", color="#d9822b",
                   zorder=3, label="paper (its text / tables)")
        for i, p in zip(idx, group.paper):
            ax.annotate(f"{p['accuracy']:.1f}", (i, p["accuracy"]), textcoords="offset points",
                        xytext=(8, -3), fontsize=8, color="#a35a12")
    values = list(ours.values()) + [p["accuracy"] for p in group.paper]
    low = min(values) if values else 0
    ax.set_ylim(max(0, low - 8), 100)
    ax.set_xticks(list(xs))
    ax.set_xticklabels(labels, rotation=20 if len(labels) > 4 else 0, ha="right"
                       if len(labels) > 4 else "center", fontsize=8)
    ax.set_ylabel("test accuracy %")
    ax.set_title(group.title, fontsize=10, pad=22)
    # above the axes: inside, it would cover bars or the paper's points
    ax.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
    fig.tight_layout()
    return fig


def best_of_groups(groups) -> list[tuple]:
    """(group, its most accurate trial) for each group with a finished trial."""
    return [(g, max(rows, key=lambda r: (r["accuracy"], r["id"]))) for g, rows in groups if rows]


def best_figure(spec, groups):
    """The best trial of each group side by side (paper 000's Fig. 9), with its
    flash and instructions on the device under each bar."""
    plt = htmlpage.pyplot()
    best = best_of_groups(groups)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.9 * len(best) + 1), 4.2))
    xs = list(range(len(best)))
    bars = ax.bar(xs, [100 * r["accuracy"] for _, r in best], color="#3b73b9")
    for bar, (_, r) in zip(bars, best):
        ax.annotate(f"{100 * r['accuracy']:.2f}", (bar.get_x() + bar.get_width() / 2,
                                                    bar.get_height()),
                    ha="center", va="bottom", fontsize=8)
    ax.set_xticks(xs)
    ax.set_xticklabels([f"{g.name}: {short_label(r)}\n{r['flash_bytes'] / 1024:,.0f} KiB flash, "
                        f"{r['instructions_per_inference'] / 1e6:.2f} M instr."
                        for g, r in best], fontsize=7)
    low = min(100 * r["accuracy"] for _, r in best)
    ax.set_ylim(max(0, low - 8), 100)
    ax.set_ylabel("test accuracy %")
    ax.set_title("The best trial of each group (as paper 000's Fig. 9)", fontsize=10)
    fig.tight_layout()
    return fig


def pareto_figure(spec, records: list[dict]):
    """Accuracy against flash and against instructions, the fronts drawn, all labelled."""
    plt = htmlpage.pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.2))
    for ax, cost, title in ((axes[0], "flash_bytes", f"flash bytes on {spec.target}"),
                            (axes[1], "instructions_per_inference",
                             f"instructions per inference on {spec.target}")):
        front = pareto(records, cost)
        ids = {r["id"] for r in front}
        for r in records:
            on = r["id"] in ids
            ax.scatter(r[cost], 100 * r["accuracy"], color="#c0392b" if on else "#7f8c8d",
                       s=36 if on else 20, zorder=3)
        ax.plot([r[cost] for r in front], [100 * r["accuracy"] for r in front], color="#c0392b",
                drawstyle="steps-post", label="Pareto front")
        _cost_axis(ax, [r[cost] for r in records], cost)
        ax.set_xlabel(title)
        ax.set_ylabel("test accuracy %")
        ax.margins(0.08)
        _label_points(fig, ax, [((r[cost], 100 * r["accuracy"]), short_label(r)) for r in records])
        ax.legend(fontsize=8, loc="lower right")
        ax.grid(alpha=0.3)
    fig.suptitle(f"{spec.name}: accuracy against device cost, every trial", fontsize=11)
    fig.tight_layout()
    return fig


def _label_points(fig, ax, points) -> None:
    """Label every point, moving a label up or down (with a leader line) until it
    overlaps no label placed before it: sweeps put many points close together."""
    fig.canvas.draw()  # fixes the axes' limits, so data -> pixels is final
    placed = []
    char_w, line_h = 4.2, 9.0  # 7-point text at 100 dpi, in pixels
    for (x, y), text in sorted(points, key=lambda p: (-p[0][1], p[0][0])):
        px, py = ax.transData.transform((x, y))
        w = char_w * len(text)
        for dy in [3] + [s * k * line_h for k in range(1, 12) for s in (-1, 1)]:
            box = (px + 4, py + dy, px + 4 + w, py + dy + line_h)
            if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3]
                       for b in placed):
                break
        placed.append(box)
        leader = {"arrowstyle": "-", "color": "#999", "lw": 0.5} if abs(dy) > line_h else None
        ax.annotate(text, (x, y), textcoords="offset points", fontsize=7,
                    xytext=(4 * 72 / fig.dpi, dy * 72 / fig.dpi), arrowprops=leader)


def _cost_axis(ax, values, cost: str) -> None:
    """A log axis when the costs span more than 8x, and ticks in K (bytes) or M
    (instructions) either way: matplotlib's own log ticks crowd a narrow range."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    if values and min(values) > 0 and max(values) / min(values) > 8:
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
    if cost == "flash_bytes":
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:,.0f} K"))
    else:
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1e6:.2f} M"))


def _verdict_lines(verdict) -> list[str]:
    if verdict is None:
        return []
    best, rival = verdict["best"], verdict["rival"]
    if best is None:
        return ["The threshold search has no finished trial yet."]
    lines = [f"Automatic threshold search ({verdict['trials']} trials, {verdict['channels']} "
             f"channels, quantile-placed then refined): best list "
             f"{best['params']['thresholds']} at {_pct(best['accuracy'])} (seed "
             f"{best['params']['seed']}), {best['flash_bytes']:,} B flash, "
             f"{best['instructions_per_inference']:,} instructions."]
    if rival is None:
        lines.append(f"No hand-picked list with {verdict['channels']} channels ran to compare.")
        return lines
    lines.append(f"The paper's best hand-picked list with {verdict['channels']} channels, "
                 f"{rival['params']['thresholds']}, reaches {_pct(rival['accuracy'])} with the same "
                 f"training ({100 * (best['accuracy'] - rival['accuracy']):+.2f} points for the "
                 "searched list).")
    c = verdict["confirm"]
    word = "at least as good as" if verdict["as_good"] else "WORSE than"
    if c is None:
        lines.append(f"Verdict on this one seed: the searched list is {word} the paper's.")
    else:
        each = lambda v: ", ".join(f"{100 * a:.2f}" for a in v)  # noqa: E731
        lines.append(f"Trained again with seeds {', '.join(map(str, c['seeds']))} (not used to "
                     f"choose it): searched {_pct(c['best'])} on average ({each(c['best_each'])}), "
                     f"paper's {_pct(c['rival'])} ({each(c['rival_each'])}). Verdict: the "
                     f"searched list is {word} the paper's best "
                     f"({100 * (c['best'] - c['rival']):+.2f} points).")
    return lines


def markdown(spec, groups, records, verdict) -> str:
    """The report as Markdown (figures referenced as PNG files beside it)."""
    lines = [f"# Sweep {spec.name}", ""]
    if spec.description:
        lines += [spec.description, ""]
    lines += [f"Dataset {spec.dataset}; accuracy of the generated C on the host over "
              f"the test set, beside LCE's interpreter on the same flatbuffer; flash, RAM "
              f"and instructions per inference measured on the emulated {spec.target}. "
              f"{len(records)} trials. Regenerate: `bnnkit sweep-report DIR`.", ""]
    cols = _columns(spec)
    for group, rows in groups:
        lines += [f"## {group.title}", "", f"![{group.name}]({group.name}.png)", ""]
        lines += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        for r in rows:
            lines.append("| " + " | ".join(_row(r, point_label(r["params"], group.x))) + " |")
        for p in group.paper:
            note = f" ({p['note']})" if p["note"] else ""
            lines.append(f"| paper: {p['x']} | {p['accuracy']:.2f} %{note} |"
                         + " |" * (len(cols) - 2))
        lines.append("")
    if verdict is not None:
        searched = sorted((r for r in records.values() if r["group"] == spec.search["name"]),
                          key=lambda r: -r["accuracy"])
        lines += [f"## {spec.search['title']}", ""] + _verdict_lines(verdict) + [""]
        lines += ["| " + " | ".join(cols + ["stage"]) + " |", "|" + "---|" * (len(cols) + 1)]
        for r in searched:
            lines.append("| " + " | ".join(_row(r, point_label(r["params"], ["thresholds"]))
                                            + [r["stage"]]) + " |")
        lines.append("")
    best = best_of_groups(groups)
    if len(best) > 1:
        lines += ["## The best trial of each group", "", "![best](best.png)", ""]
        lines += [f"- {g.title}: {point_label(r['params'], g.x)}, {_pct(r['accuracy'])}, "
                  f"{r['flash_bytes']:,} B flash, {r['instructions_per_inference']:,} "
                  "instructions" for g, r in best] + [""]
    lines += ["## Pareto fronts", "", "![pareto](pareto.png)", ""]
    for cost, name in (("flash_bytes", "flash"), ("instructions_per_inference", "instructions")):
        front = pareto(_designs(records), cost)
        lines.append(f"Front on {name}: " + ", ".join(
            f"{short_label(r)} ({_pct(r['accuracy'])}, {r[cost]:,})" for r in front) + ".")
    return htmlpage.md_safe("\n".join(lines) + "\n")


def write_report(out_dir) -> list[Path]:
    """Write ``report.md``, the PNG figures and ``report.html`` into ``out_dir``."""
    out = Path(out_dir)
    spec, records, groups = collect(out)
    verdict = search_verdict(spec, records)
    written = []
    body = [f"<p>{htmlpage.esc(spec.description)}</p>" if spec.description else "",
            f"<p class=\"note\">Dataset {htmlpage.esc(spec.dataset)}; accuracy of the generated "
            f"C on the host over the test set (LCE's interpreter beside it); flash, RAM and "
            f"instructions per inference on the emulated {htmlpage.esc(spec.target)}. "
            f"{len(records)} trials.</p>"]
    for group, rows in groups:
        if not rows and not group.paper:
            continue
        body.append(f"<h2>{htmlpage.esc(group.title)}</h2>")
        body.append(_figure(group_figure(spec, group, rows), out / f"{group.name}.png",
                            group.title, written))
        body.append(htmlpage.table(_columns(spec), [_row(r, point_label(r["params"], group.x))
                                                    for r in rows]))
        if group.paper:
            body.append(htmlpage.table(["paper point", "accuracy", "source"],
                                       [[p["x"], f"{p['accuracy']:.2f} %", p["note"]]
                                        for p in group.paper]))
    if verdict is not None:
        body.append(f"<h2>{htmlpage.esc(spec.search['title'])}</h2>")
        body += [f"<p>{htmlpage.esc(line)}</p>" for line in _verdict_lines(verdict)]
        searched = sorted((r for r in records.values() if r["group"] == spec.search["name"]),
                          key=lambda r: -r["accuracy"])
        body.append(htmlpage.table(_columns(spec) + ["stage"], [
            _row(r, point_label(r["params"], ["thresholds"])) + [r["stage"]] for r in searched]))
    if len(best_of_groups(groups)) > 1:
        body.append("<h2>The best trial of each group</h2>")
        body.append(_figure(best_figure(spec, groups), out / "best.png", "best of each group",
                            written))
    body.append("<h2>Pareto fronts: accuracy against flash and instructions</h2>")
    body.append(_figure(pareto_figure(spec, _designs(records)), out / "pareto.png",
                        "Pareto fronts", written))
    written.append(write_text(out / "report.md", markdown(spec, groups, records, verdict)))
    written.append(htmlpage.write(out / "report.html", f"Sweep {spec.name}", body))
    return written


def _figure(fig, path: Path, alt: str, written: list) -> str:
    """Render ``fig`` once: the PNG file beside the Markdown and the page's inline image."""
    data = htmlpage.png(fig)
    written.append(write_bytes(path, data))
    return htmlpage.img(data, alt)
