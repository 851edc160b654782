"""``bnnkit inspect``: what a ``.h5`` or ``.tflite`` holds, as text."""

from __future__ import annotations

from pathlib import Path

from .errors import BnnkitError


def describe_graph(graph, name: str, size: int) -> str:
    lines = [f"{name}: TFLite flatbuffer, {size:,} bytes",
             f"  {len(graph.ops)} ops, {len(graph.tensors)} tensors "
             f"({sum(t.is_constant for t in graph.tensors)} constant)"]
    lines.append("  ops by type:")
    for op_type, n in sorted(graph.op_counts().items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"    {op_type:<24} {n}")
    lines.append("  constant bytes by type:")
    for dtype, n in sorted(graph.constant_bytes_by_dtype().items()):
        lines.append(f"    {dtype:<24} {n:,}")
    for role, indices in (("input ", graph.inputs), ("output", graph.outputs)):
        for idx in indices:
            t = graph.tensor(idx)
            lines.append(f"  {role} {t.name}: {t.dtype}{list(t.shape)}{_quantization(t)}")
    return "\n".join(lines)


def _quantization(t) -> str:
    """``, real = S * (q - Z)`` for a per-tensor quantized tensor, else ''."""
    scale = getattr(t, "scale", None)
    if scale is None or len(scale) != 1:
        return "" if scale is None or len(scale) == 0 else f" ({len(scale)} scales, per channel)"
    z = int(t.zero_point[0])
    return f", real = {float(scale[0])!r} * (q {'-' if z >= 0 else '+'} {abs(z)})"


def describe_tflite(path) -> str:
    from .tflite_reader import read_tflite

    path = Path(path)
    graph = read_tflite(path)
    return describe_graph(graph, str(path), path.stat().st_size)


def describe_h5(path) -> str:
    from .convert import load_keras
    from .zoo import profile

    model = load_keras(path)
    lines = [f"{path}: Keras model '{model.name}', {len(model.layers)} layers"]
    for layer in model.layers:
        shape = getattr(layer, "output_shape", None)
        lines.append(f"    {layer.name:<24} {type(layer).__name__:<22} {shape}")
    p = profile(model)
    lines.append(f"  larq summary: {p['binary_params']:,} binary + {p['float_params']:,} float "
                 f"parameters, {p['model_size_kib']} KiB "
                 f"({p['model_size_int8_kib']} KiB with 8-bit float weights)")
    return "\n".join(lines)


def describe(path) -> str:
    path = Path(path)
    if not path.is_file():
        raise BnnkitError(f"{path}: no such file")
    with open(path, "rb") as f:
        head = f.read(8)
    if head[4:8] == b"TFL3":
        return describe_tflite(path)
    if head == b"\x89HDF\r\n\x1a\n":
        return describe_h5(path)
    raise BnnkitError(f"{path}: neither an HDF5 Keras model nor a TFLite flatbuffer")


def describe_passes(path) -> str:
    """A .tflite's kernel nodes after lowering and after each fusion pass (a
    pass that changed nothing says so).

    Example:
        >>> print(describe_passes("models/lenet_bin3.tflite"))  # doctest: +SKIP
        models/lenet_bin3.tflite: after to_nodes, 16 nodes
          0 conv2d   t0 -> t11   sequential/conv2d/Relu...
    """
    from .emit import load_graph
    from .lower import lower
    from .passes import format_nodes

    path = Path(path)
    graph, _ = load_graph(path)
    stages, last = [], None

    def dump(name, low):
        nonlocal last
        text = format_nodes(low)
        if text == last:
            stages.append(f"{path}: after {name}, unchanged")
        else:
            stages.append(f"{path}: after {name}, {len(low.nodes)} nodes\n{text}")
        last = text

    lower(graph, str(path), dump=dump)
    return "\n".join(stages)
