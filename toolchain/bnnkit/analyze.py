"""``bnnkit analyze``: what a network costs on a target, layer by layer, and
whether it fits a part.

Per layer: the kernel, its input and output shapes and element kinds, MACs and
binary ops, the bytes of constants it owns, the arena bytes live while it
runs and which buffers hold them (``arena_live``; ``in_place_over``: the input
its output is written over). Totals: constants, arena, and for a bare-metal target the example
firmware linked in a temporary folder (flash exactly, RAM as static data plus
the stack measured on the emulator, else the deepest call chain from gcc's
-fcallgraph-info: the figure gen-firmware and simulate report). With ``measure``:
instructions per layer on the emulator (a -DBNN_PROFILE build) and the plain
build's exact total, or time per layer on the host.

Example:
    >>> report = analyze("models/lenet_bin3.tflite", board="stm32f407")  # doctest: +SKIP
    >>> report["verdict"]["fits"]                                         # doctest: +SKIP
    True
"""

from __future__ import annotations

from pathlib import Path

from .errors import BnnkitError
from .targets import PARTS
from .outdir import temp_dir
from .profile import keras_layer


def _shape(low, t) -> dict:
    return {"shape": list(low.shapes[t]), "kind": low.kinds[t]}


def layer_rows(gen) -> list[dict]:
    """One row per lowered layer (see the module docstring)."""
    from .profile import layer_costs

    low, prog = gen.low, gen.program
    rows = layer_costs(gen)
    over = {i: x for i, _, x in prog.in_place}
    for row, node in zip(rows, low.nodes):
        i = row["layer"]
        row["inputs"] = [_shape(low, t) for t in node.inputs if t in low.shapes]
        row["outputs"] = [_shape(low, t) for t in node.outputs]
        row["const_bytes"] = prog.layer_consts[i]
        live = sorted((b for b in prog.planned if b.first <= i <= b.last),
                      key=lambda b: (-b.nbytes, b.name))
        row["arena_live_bytes"] = sum(b.nbytes for b in live)
        # what those bytes hold (a buffer holds one tensor after another when in place)
        row["arena_live"] = [{"tensor": _buffer_name(low, b), "bytes": b.nbytes} for b in live]
        row["in_place_over"] = low.names.get(over[i], f"tensor {over[i]}") if i in over else None
        # work a binary op costs about a third of a multiply-accumulate (the M4's
        # bconv: ~11 instructions per 32-bit word, 32 binary ops)
        row["mac_equivalents"] = row["macs"] + row["bops"] // 3
    return rows


def _buffer_name(low, b) -> str:
    """An arena buffer as a person reads it: the (first) tensor it holds, or a
    layer's scratch."""
    if b.name.startswith("scratch"):
        return f"scratch of layer {b.name[7:]}"
    return low.names.get(int(b.name), f"tensor {b.name}")


def arena_peak(gen) -> dict:
    """The step where the most arena bytes are live and what they hold: the
    layer, its name, the bytes and each live buffer (tensor name or a layer's
    scratch) with its size, largest first.

    Example:
        >>> arena_peak(generate("models/lenet_bin3.tflite", "host", "p"))  # doctest: +SKIP
        {'layer': 1, 'name': '...conv2/Relu', 'live_bytes': 8992, 'buffers': [...]}
    """
    low, prog = gen.low, gen.program
    steps = range(len(low.nodes))
    live = {i: [b for b in prog.planned if b.first <= i <= b.last] for i in steps}
    i = max(steps, key=lambda s: (sum(b.nbytes for b in live[s]), -s), default=0)
    name = low.nodes[i].name if low.nodes else ""
    return {"layer": i, "name": name, "keras_layer": keras_layer(name.split(" -> ", 1)[-1]),
            "live_bytes": sum(b.nbytes for b in live.get(i, [])),
            "buffers": [{"tensor": _buffer_name(low, b), "bytes": b.nbytes}
                        for b in sorted(live.get(i, []), key=lambda b: (-b.nbytes, b.name))]}


def _first_input(gen, data_dir, user_data=None):
    """The first of the user's inputs (``user_data``: .npz or image folder), else
    the sidecar dataset's first test image, else zeros of the input's type."""
    import numpy as np

    from . import data

    if user_data is not None:
        from .validate import load_data

        return load_data(user_data, gen, data_dir, limit=1)[0]
    dataset = gen.meta.get("dataset")
    if dataset:
        return data.load(dataset, "test", data_dir).images[:1]
    return np.zeros((1, *gen.input_shape), dtype=gen.input_dtype)


def analyze(model, target: str | None = None, flash_kib=None, ram_kib=None,
            board: str | None = None, measure: bool = False, data_dir=None,
            timeout: float = 600, data=None, input_spec=None, reference=None) -> dict:
    """The analysis of ``model`` on ``target`` (or on ``board``'s core, with its
    memory as the budget) as a dict: model, target, board, budget, layers,
    totals and verdict (see the module docstring). ``input_spec``: the
    preprocessing, instead of the sidecar's (as gen-firmware's --input).

    Example:
        >>> analyze("models/lenet_bin3_int8.tflite", "cortex-m4")["totals"]  # doctest: +SKIP
        {'macs': 588000, 'const_bytes': 20604, 'flash_bytes': 65180, ...}
    """
    from .device import linked_estimate
    from .emit import generate
    from .targets import get_target

    part = None
    if board is not None:
        if board not in PARTS:
            raise BnnkitError(f"--board {board}: unknown (choose from {', '.join(PARTS)})")
        part = PARTS[board]
        if target is not None and target != part.target:
            raise BnnkitError(f"--board {board} is a {part.target}; --target {target} "
                              "contradicts it")
        target = part.target
        flash_kib = part.flash_kib if flash_kib is None else flash_kib
        ram_kib = part.ram_kib if ram_kib is None else ram_kib
    target = target or "cortex-m4"
    tgt = get_target(target)
    flash_budget, ram_budget = tgt.budget(flash_kib, ram_kib)
    with temp_dir("analyze") as tmp:
        # no budget check here: analyze reports what does not fit instead of refusing it
        gen = generate(model, target, Path(tmp) / "p", check_budget=False, input_spec=input_spec,
                       reference=reference)
        rows = layer_rows(gen)
        totals = {"macs": sum(r["macs"] for r in rows), "bops": sum(r["bops"] for r in rows),
                  "const_bytes": gen.model_bytes, "arena_bytes": gen.program.arena_bytes,
                  "arena_peak_live_bytes": max((r["arena_live_bytes"] for r in rows),
                                               default=0)}
        if tgt.machine:
            linked = linked_estimate(gen, gen.out_dir, timeout=timeout)
            totals.update({k: linked[k] for k in ("flash_bytes", "model_flash_bytes",
                                                  "code_flash_bytes", "ram_bytes",
                                                  "static_ram_bytes", "stack_bytes",
                                                  "stack_source")})
        if measure:
            _measure(gen, rows, totals, _first_input(gen, data_dir, data), timeout)
        peak = arena_peak(gen)
    verdict = _verdict(rows, totals, flash_budget, ram_budget)
    verdict["arena_peak"] = peak
    return {"model": str(model), "target": target,
            "board": None if part is None else {"name": board, "part": part.part,
                                                "source": part.source},
            "budget": {"flash_kib": flash_budget, "ram_kib": ram_budget},
            "layers": rows, "totals": totals, "verdict": verdict}


def _measure(gen, rows, totals, one_input, timeout):
    from .build import make
    from .profile import profile_device, profile_host

    if gen.target.name == "host":
        for row, timed in zip(rows, profile_host(gen, one_input.repeat(200, axis=0), timeout)):
            row["us"] = timed["us"]
        totals["us"] = sum(r["us"] for r in rows)
        return
    from .device import instructions_per_inference

    profiled, before = profile_device(gen, one_input, timeout)
    for row, p in zip(rows, profiled):
        row["instructions"] = p["instructions"]
    totals["input_instructions"] = before
    # the total of the plain build, exactly as simulate counts it
    exe = make(gen.out_dir, gen.target, timeout)
    totals["instructions"] = instructions_per_inference(gen.target, exe, one_input, timeout)


def _verdict(rows, totals, flash_kib, ram_kib) -> dict:
    """Fits or not, with headroom (negative: overrun) per memory, and the layers
    that dominate constants and work."""
    def top(key):
        ranked = sorted((r for r in rows if r.get(key)), key=lambda r: -r[key])[:3]
        total = sum(r.get(key, 0) for r in rows) or 1
        return [{"layer": r["layer"], "name": r["name"], "keras_layer": r.get("keras_layer", ""),
                 key: r[key], "share": round(r[key] / total, 4)} for r in ranked]

    flash_used = totals.get("flash_bytes", totals["const_bytes"])
    ram_used = totals.get("ram_bytes", totals["arena_bytes"])
    out = {"flash_used_bytes": flash_used, "ram_used_bytes": ram_used,
           "measured_on": "the linked example firmware" if "flash_bytes" in totals
           else "constants and arena only (no linker for this target)"}
    fits = True
    for mem, used, kib in (("flash", flash_used, flash_kib), ("ram", ram_used, ram_kib)):
        if kib is not None:
            out[f"{mem}_headroom_bytes"] = kib * 1024 - used
            fits = fits and used <= kib * 1024
    out["fits"] = fits
    out["dominant"] = {"const_bytes": top("const_bytes"),
                       "work": top("instructions") if any("instructions" in r for r in rows)
                       else top("mac_equivalents")}
    return out


def format_text(report: dict) -> str:
    """The analysis as text: the layer table, totals, and the verdict.

    Example:
        >>> print(format_text(analyze("models/lenet_bin3.tflite")))  # doctest: +SKIP
    """
    rows, t = report["layers"], report["totals"]
    measured = "instructions" in t or "us" in t
    unit = "instructions" if "instructions" in t else "us/input"
    head = (f"{'layer':<6}{'kind':<17}{'Keras layer':<28}{'input':<15}{'output':<15}{'MACs':>10}"
            f"{'binary ops':>11}{'const B':>9}{'live B':>8}" + (f"{unit:>14}" if measured else ""))
    lines = [f"{report['model']} on {report['target']}"
             + (f" ({report['board']['part']})" if report["board"] else ""), head]
    fmt = lambda s: "x".join(map(str, s["shape"])) + f" {s['kind']}"  # noqa: E731
    for r in rows:
        line = (f"{r['layer']:<6}{r['kind'][:16]:<17}{r['keras_layer'][:27]:<28}"
                f"{fmt(r['inputs'][0]) if r['inputs'] else '-':<15}"
                f"{fmt(r['outputs'][0]):<15}{r['macs']:>10,}{r['bops']:>11,}"
                f"{r['const_bytes']:>9,}{r['arena_live_bytes']:>8,}")
        if "instructions" in r:
            line += f"{r['instructions']:>14,}"
        elif "us" in r:
            line += f"{r['us']:>14.2f}"
        lines.append(line)
    return "\n".join(lines + summary_lines(report))


def summary_lines(report: dict) -> list[str]:
    """The lines after the layer table: totals, the linked firmware, the
    measurement, the verdict and the dominant layers."""
    t, v = report["totals"], report["verdict"]
    lines = [f"totals: {t['macs']:,} MACs, {t['bops']:,} binary ops, {t['const_bytes']:,} B "
                 f"of constants, {t['arena_bytes']:,} B of arena "
                 f"(peak live {t['arena_peak_live_bytes']:,} B)"]
    if "flash_bytes" in t:
        lines.append(f"linked example firmware: {t['flash_bytes']:,} B flash (constants "
                     f"{t['model_flash_bytes']:,}, model code and kernels {t['code_flash_bytes']:,}"
                     f"), {t['ram_bytes']:,} B RAM (static {t['static_ram_bytes']:,}, stack "
                     f"{t['stack_bytes']:,} {t['stack_source']})")
    if "instructions" in t:
        lines.append(f"instructions per inference: {t['instructions']:,} (emulator, plain "
                     f"build; per layer from a -DBNN_PROFILE build, input conversion "
                     f"{t['input_instructions']:,})")
    elif "us" in t:
        lines.append(f"time per inference on this machine: {t['us']:.2f} us")
    b = report["budget"]
    if b["flash_kib"] is None and b["ram_kib"] is None:
        lines.append("verdict: no budget for this target (--flash-kib, --ram-kib or --board)")
    else:
        parts = []
        for mem, label in (("flash", "flash"), ("ram", "RAM")):
            kib = b[f"{mem}_kib"]
            if kib is None:
                continue
            used, room = v[f"{mem}_used_bytes"], v[f"{mem}_headroom_bytes"]
            state = (f"{room:,} B headroom" if room >= 0 else f"{-room:,} B OVER")
            parts.append(f"{label} {used:,} of {kib * 1024:,} B "
                         f"({100 * used / (kib * 1024):.1f} %, {state})")
        lines.append(("verdict: FITS " if v["fits"] else "verdict: DOES NOT FIT ")
                     + "; ".join(parts))
        peak = v.get("arena_peak")
        if peak and v.get("ram_headroom_bytes", 0) < 0:
            lines.append(f"RAM peak: layer {peak['layer']} {peak['keras_layer']}, "
                         f"{peak['live_bytes']:,} B of arena live: " + ", ".join(
                             f"{b['tensor'][-40:]} {b['bytes']:,} B" for b in peak["buffers"][:6]))
    dom = v["dominant"]
    for key, what in (("const_bytes", "constants"), ("work", "work")):
        items = dom[key]
        if items:
            k = [x for x in items[0] if x not in ("layer", "name", "keras_layer", "share")][0]
            lines.append(f"most {what}: " + ", ".join(
                f"layer {x['layer']} {x.get('keras_layer') or x['name'][-30:]} "
                f"({100 * x['share']:.0f} %)" for x in items)
                + (f" [by {k.replace('_', ' ')}" + (": MACs + binary ops / 3]"
                                                   if k == "mac_equivalents" else "]")
                   if key == "work" else ""))
    return lines


def write_html(report: dict, path) -> Path:
    """The analysis as one self-contained HTML page: the layer table, bytes and
    work (or measured instructions) per layer, the arena over the steps, and the
    verdict.

    Example:
        >>> write_html(analyze("models/lenet_bin3.tflite"), "a.html")  # doctest: +SKIP
    """
    from . import htmlpage

    plt = htmlpage.pyplot()
    rows, t = report["layers"], report["totals"]
    labels = [f"{r['layer']} {r['kind']}" for r in rows]
    fmt = lambda s: "x".join(map(str, s["shape"])) + f" {s['kind']}"  # noqa: E731
    work_key = ("instructions" if "instructions" in t else "us" if "us" in t else None)
    columns = ["layer", "kind", "Keras layer", "TFLite tensor", "input", "output", "MACs",
               "binary ops", "const B", "arena live B",
               "live buffers (B)"] + ([{"instructions": "instructions", "us": "us/input"}[work_key]]
                                  if work_key else [])
    cells = [[r["layer"], r["kind"], r.get("keras_layer", ""), r["name"],
              fmt(r["inputs"][0]) if r["inputs"] else "-",
              fmt(r["outputs"][0]), f"{r['macs']:,}", f"{r['bops']:,}", f"{r['const_bytes']:,}",
              f"{r['arena_live_bytes']:,}",
              "; ".join(f"{b['tensor'][-40:]} {b['bytes']:,}" for b in r["arena_live"])
              + (f" (output over {r['in_place_over'][-40:]})" if r["in_place_over"] else "")]
             + ([f"{r[work_key]:,}" if work_key == "instructions" else f"{r[work_key]:.2f}"]
                if work_key else []) for r in rows]
    summary = summary_lines(report)
    verdict = [s for s in summary if s.startswith("verdict:")]
    body = [f"<p class=\"{'fits' if report['verdict']['fits'] else 'over'}\">"
            f"{htmlpage.esc(verdict[0] if verdict else '')}</p>",
            "<p>" + "<br>".join(htmlpage.esc(s) for s in summary if not s.startswith("verdict:"))
            + "</p>"]

    height = max(3.0, 0.35 * len(rows) + 1.2)
    fig, axes = plt.subplots(1, 2, figsize=(11, height), sharey=True)
    y = range(len(rows))
    axes[0].barh(y, [r["const_bytes"] for r in rows], color="C0")
    axes[0].set_xlabel("bytes of constants (flash)")
    if work_key:
        axes[1].barh(y, [r[work_key] for r in rows], color="C3")
        axes[1].set_xlabel("instructions (emulator)" if work_key == "instructions"
                           else "microseconds (host)")
    else:
        axes[1].barh(y, [r["macs"] for r in rows], color="C1", label="MACs")
        axes[1].barh(y, [r["bops"] / 3 for r in rows], left=[r["macs"] for r in rows],
                     color="C2", label="binary ops / 3")
        axes[1].set_xlabel("work in MAC-equivalents (MACs + binary ops / 3)")
        axes[1].legend(fontsize=8)
    axes[0].set_yticks(list(y), labels, fontsize=8)
    axes[0].invert_yaxis()
    for ax in axes:
        ax.grid(True, axis="x", alpha=0.3)
    fig.suptitle("per layer")
    fig.tight_layout()
    body += ["<h2>Bytes and work per layer</h2>", htmlpage.figure(fig, "bytes and work per layer")]

    fig, ax = plt.subplots(figsize=(11, 3.2))
    ax.step(list(y), [r["arena_live_bytes"] for r in rows], where="mid", color="C4")
    ax.fill_between(list(y), [r["arena_live_bytes"] for r in rows], step="mid", alpha=0.3,
                    color="C4")
    ax.axhline(t["arena_bytes"], color="k", linestyle="--", linewidth=1,
               label=f"planned arena {t['arena_bytes']:,} B")
    ram_kib = report["budget"]["ram_kib"]
    if ram_kib is not None:  # what the arena may use: the RAM budget less the rest of RAM
        room = ram_kib * 1024 - (t.get("ram_bytes", t["arena_bytes"]) - t["arena_bytes"])
        ax.axhline(room, color="C3", linewidth=1.5,
                   label=f"RAM budget less static data and stack: {room:,} B")
    ax.set_xticks(list(y), [str(r["layer"]) for r in rows])
    ax.set_xlabel("layer (step)")
    ax.set_ylabel("arena bytes live")
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    body += ["<h2>Arena over the steps</h2>", htmlpage.figure(fig, "arena bytes live per step"),
             "<h2>Layers</h2>", htmlpage.table(columns, cells)]
    title = f"{Path(report['model']).name} on {report['target']}" + (
        f" ({report['board']['part']})" if report["board"] else "")
    return htmlpage.write(path, f"bnnkit analyze: {title}", body)
