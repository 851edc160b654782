"""Per-layer profile: where a network's instructions go on an emulated device.

The project is built once more with ``-DBNN_PROFILE``: model.c then calls
``NAME_profile_layer(i)`` before layer ``i`` (and after the last), and QEMU's
execution log of one inference is split at those calls. Beside each layer's
instructions: its MACs (float multiply-adds) or binary ops (XNOR-popcount bit
operations) from the op kind's cost model, instructions per MAC or per 32 binary
ops (one word), and the layer's share of the total.

Example:
    >>> rows = [{"layer": 0, "kind": "conv2d", "name": "c", "macs": 100, "bops": 0,
    ...          "instructions": 250}]
    >>> print(format_profile(rows, 50, 300))  # doctest: +NORMALIZE_WHITESPACE
    layer kind name instructions share MACs instr/MAC binary ops instr/word
    -     input (scaling) 50 16.7%
    0     conv2d c 250 83.3% 100 2.50
    total 300
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from .build import copy_sources, make
from .ops import op_kind
from .outdir import temp_dir


@contextlib.contextmanager
def _profile_build(gen, defines: str):
    """The executable of a copy of ``gen``'s project built with ``defines``
    (sources only are copied), in a temporary folder removed afterwards."""
    with temp_dir("profile") as tmp:
        copy = copy_sources(gen.out_dir, Path(tmp) / "project")
        yield make(copy, gen.target, defines=defines)


def keras_layer(tensor_name: str) -> str:
    """The Keras layer a TFLite tensor came from, as TensorFlow names its
    tensors ("model/layer/op..."), with the fake-quant layers that ``convert
    --int8`` places after a layer named after it; else the tensor's name.

    Example:
        >>> keras_layer("lenet_bin3/conv2/Relu;lenet_bin3/conv2/BiasAdd")
        'conv2'
        >>> keras_layer("model_1/bn3_fake_quant/FakeQuantWithMinMaxVars")
        'bn3'
        >>> keras_layer("StatefulPartitionedCall:0")
        'StatefulPartitionedCall:0'
    """
    parts = tensor_name.split(";")[0].split("/")
    if len(parts) < 3 or not parts[1]:
        return tensor_name.split(";")[0]
    return parts[1].removesuffix("_fake_quant") or parts[1]


def layer_costs(gen) -> list[dict]:
    """Kind, name, Keras layer, MACs and binary ops of each lowered layer, in
    call order."""
    rows = []
    for i, n in enumerate(gen.low.nodes):
        cost = op_kind(n.kind).cost(n, gen.low)
        # "CONV_2D -> a/conv1/Relu;a/conv1/BiasAdd;..." -> "a/conv1/Relu"
        name = n.name.split(" -> ", 1)[-1].split(";")[0]
        rows.append({"layer": i, "kind": n.kind, "name": name,
                     "keras_layer": keras_layer(n.name.split(" -> ", 1)[-1]),
                     "macs": int(cost.macs), "bops": int(cost.bops)})
    return rows


def profile_device(gen, one_input, timeout: float = 600) -> tuple[list[dict], int]:
    """Instructions per layer of one inference of ``one_input`` (shape (1, ...))
    on the emulated target of ``gen``; returns (rows, instructions before the
    first layer: the input's conversion)."""
    from .device import instructions_per_inference

    with _profile_build(gen, "-DBNN_PROFILE") as exe:
        segments = instructions_per_inference(gen.target, exe, one_input, timeout,
                                              per_layer=True)
    rows = layer_costs(gen)
    # segments: before layer 0, layer 0 .. layer n-1, after the last layer's end call
    for row, n in zip(rows, segments[1:]):
        row["instructions"] = n
    rows[-1]["instructions"] += segments[-1]  # the return to the caller
    return rows, segments[0]


def profile_host(gen, images, timeout: float = 600) -> list[dict]:
    """Time per layer on this machine: ``images`` (raw inputs) through a
    -DBNN_PROFILE -DBNN_PROFILE_TIME build, whose harness adds up the clock
    between the layer calls; each row gets ``us``, microseconds per input."""
    import numpy as np

    from .build import parse_predictions, run_host, write_images

    with _profile_build(gen, "-DBNN_PROFILE -DBNN_PROFILE_TIME") as exe:
        copy = exe.parent
        write_images(copy / "images.bin", images,
                     np.float32 if gen.input_dtype == np.float32 else np.uint8)
        run_host(exe, copy / "images.bin", copy / "out.txt", timeout)
        stats = parse_predictions(copy / "out.txt", gen.program.output_floats).stats
    rows = layer_costs(gen)
    n = max(stats.get("images", 1), 1)
    for row in rows:
        row["us"] = stats.get(f"layer_ns_{row['layer']}", 0) / 1e3 / n
    return rows


def format_profile(rows: list[dict], before: int, total: int | None = None) -> str:
    """The profile as a text table (shares of ``total``, default the rows' sum)."""
    total = total or before + sum(r["instructions"] for r in rows)
    head = (f"{'layer':<6}{'kind':<15}{'name':<32}{'instructions':>13}{'share':>8}{'MACs':>10}"
            f"{'instr/MAC':>10}{'binary ops':>12}{'instr/word':>11}")
    lines = [head, f"{'-':<6}{'input':<15}{'(scaling)':<32}{before:>13,}"
                   f"{100 * before / total:>7.1f}%"]
    for r in rows:
        n = r["instructions"]
        line = (f"{r['layer']:<6}{r['kind'][:14]:<15}{r['name'][-31:]:<32}{n:>13,}"
                f"{100 * n / total:>7.1f}%")
        macs = f"{r['macs']:>10,}{n / r['macs']:>10.2f}" if r["macs"] else " " * 20
        bops = f"{r['bops']:>12,}{32 * n / r['bops']:>11.1f}" if r["bops"] else ""
        lines.append((line + macs + bops).rstrip())
    lines.append(f"{'total':<53}{total:>13,}")
    return "\n".join(lines)


def format_host_profile(rows: list[dict]) -> str:
    """Time per layer (:func:`profile_host`) as a text table."""
    total = sum(r["us"] for r in rows) or 1.0
    lines = [f"{'layer':<6}{'kind':<15}{'name':<32}{'us/input':>10}{'share':>8}{'MACs':>10}"
             f"{'ns/MAC':>8}"]
    for r in rows:
        line = (f"{r['layer']:<6}{r['kind'][:14]:<15}{r['name'][-31:]:<32}{r['us']:>10.2f}"
                f"{100 * r['us'] / total:>7.1f}%")
        if r["macs"]:
            line += f"{r['macs']:>10,}{1e3 * r['us'] / r['macs']:>8.3f}"
        lines.append(line)
    lines.append(f"{'total':<53}{total:>10.2f}")
    return "\n".join(lines)
