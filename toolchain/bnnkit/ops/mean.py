"""MEAN over constant axes, float32 (bnn_mean_f32.c), bit-exact with LCE's
interpreter on x86-64.

What the interpreter does, found by comparing it bit for bit with numpy
candidates (20 random inputs each, x1 and x1000 scaled, 1 to 512 channels):
the axes are resolved (negative, duplicates), dimensions of size 1 dropped and
neighbouring dimensions of the same kind (reduced or kept) merged, as TFLite's
``reduce_utils::ResolveAxis``. Then

- if that leaves ``[rows, n]`` with the last dimension reduced and rows > 1
  (e.g. a mean over channels, or over axes {2, 3}), each row is summed by
  Eigen's ``colwise().sum()`` (TFLite's "MeanLastDim" path): AVX packets of 8,
  aligned to 32 bytes from the 64-byte aligned arena tensor, two accumulators;
  ``bnn_mean_f32.h`` spells out the order;
- otherwise (the spatial {1, 2} mean of NHWC with or without keep_dims, a
  global mean, any other axes) the values of each output are summed in input
  order, from -0.0f (an all -0.0f input gives -0.0f, as in the interpreter);

and the sum is divided by the count as a float (a multiply by its reciprocal
does not match). The Eigen order is the x86-64 (AVX) build's; LCE built for
another SIMD width would sum those rows in another order.
Inputs of up to 4 dimensions (with the batch of 1).
"""

from __future__ import annotations

import numpy as np

from .base import Cost, OpKind, prod, register

LANES = 8  # BNN_MEAN_LANES in bnn_mean_f32.c


def read_axes(ctx, op):
    """MEAN's input shape and constant axes, validated: ``(shape, axes as
    listed, sorted distinct axes)``, or None after ``ctx.problem``. Shared by
    the float and int8 kinds."""
    axes = ctx.const(op.inputs[1])
    if axes is None:
        return ctx.problem("axes computed at run time (a constant int32 tensor is needed)")
    axes = np.asarray(axes)
    if axes.dtype.kind not in "iu":
        return ctx.problem(f"axes of type {axes.dtype}")
    full = tuple(int(d) for d in ctx.graph.tensor(op.inputs[0]).shape)
    rank = len(full)
    listed = [int(a) for a in axes.reshape(-1)]
    if not 1 <= rank <= 4:
        return ctx.problem(f"mean over axes {listed} of a {rank}-D tensor (up to 4-D)")
    if full[0] != 1:
        return ctx.problem(f"batch of {full[0]} (1 needed)")
    if min(full) < 1:
        return ctx.problem(f"input of shape {full} (no empty dimension)")
    if any(not -rank <= a < rank for a in listed):
        return ctx.problem(f"axes {listed} out of range for a {rank}-D tensor")
    resolved = sorted({a % rank for a in listed})
    if not resolved:
        return ctx.problem("mean over no axes (axes tensor is empty)")
    return full, listed, resolved


@register
class Mean(OpKind):
    kind = "mean"
    tflite = ("MEAN",)
    files = ("bnn_mean_f32.c",)

    def lower(self, ctx, op):
        if len(op.inputs) < 2:
            return ctx.problem("MEAN without an axes input")
        if not ctx.need_float(op.inputs[0], *op.outputs):
            return None
        read = read_axes(ctx, op)
        if read is None:
            return None
        full, _, resolved = read
        return ctx.node(self.kind, [op.inputs[0]], {
            "in_shape": full, "axes": tuple(resolved),
            "keep_dims": bool(op.options.get("keep_dims", False))})

    def output_shape(self, n, low):
        full, axes = n.params["in_shape"], n.params["axes"]
        if n.params["keep_dims"]:
            out = tuple(1 if d in axes else s for d, s in enumerate(full))
        else:
            out = tuple(s for d, s in enumerate(full) if d not in axes)
        # as the reader strips the batch of 1 from the file's shapes
        return out[1:] if len(out) > 1 and out[0] == 1 else out

    def lce_depends_on_cpu(self, n) -> bool:
        return plan(n.params["in_shape"], n.params["axes"])[3] > 1  # Eigen's packet sums

    def emit(self, b, i, n):
        dims, red, count, rows = plan(n.params["in_shape"], n.params["axes"])
        pname = f"mean_p{i:02d}"
        b.struct("bnn_mean_params", pname, dims=dims, reduced=red, count=count, rows=rows)
        return [f"bnn_mean_f32(&{pname}, {b.buf(n.inputs[0])}, {b.buf(n.outputs[0])});"]

    def cost(self, n, low):
        return Cost(macs=prod(n.params["in_shape"]))

    def reference(self, n, inputs, low):
        out = mean(inputs[0].reshape(n.params["in_shape"]), n.params["axes"])
        return out.reshape(low.shapes[n.outputs[0]])


def normalize(shape, axes):
    """TFLite's axis resolution on a shape: size-1 dimensions dropped, runs of
    reduced or kept dimensions merged. Returns [(size, reduced)], outer first.

    Example:
        >>> normalize((1, 5, 7, 13), (1, 2))
        [(35, True), (13, False)]
    """
    out = []
    for d, s in enumerate(shape):
        if s == 1:
            continue
        r = d in axes
        if out and out[-1][1] == r:
            out[-1] = (out[-1][0] * s, r)
        else:
            out.append((s, r))
    return out


def plan(shape, axes):
    """(dims[4], reduced[4], count, rows) of bnn_mean_params for a mean of
    ``shape`` (with the batch) over the resolved ``axes``."""
    norm = normalize(shape, axes)
    count = prod([s for s, r in norm if r])
    rows = 0
    if len(norm) == 2 and not norm[0][1] and norm[1][1]:
        rows = norm[0][0]  # [rows, count], rows > 1: Eigen's last-dim sum
    norm = [(1, False)] * (4 - len(norm)) + norm
    return [s for s, _ in norm], [r for _, r in norm], count, rows


def eigen_sums(mat, phase):
    """Eigen's vectorized sum of each row of ``mat`` (m, n), float32, every
    row starting ``phase`` floats past a 32-byte boundary."""
    m, n = mat.shape
    start = min((LANES - phase) % LANES, n)
    size1 = (n - start) // LANES * LANES
    size2 = (n - start) // (2 * LANES) * (2 * LANES)
    if size1 == 0:
        res = mat[:, 0].copy()
        for i in range(1, n):
            res = res + mat[:, i]
        return res
    p0 = mat[:, start:start + LANES].copy()
    if size1 > LANES:
        p1 = mat[:, start + LANES:start + 2 * LANES]
        for i in range(start + 2 * LANES, start + size2, 2 * LANES):
            p0 = p0 + mat[:, i:i + LANES]
            p1 = p1 + mat[:, i + LANES:i + 2 * LANES]
        p0 = p0 + p1
        if size1 > size2:
            p0 = p0 + mat[:, start + size2:start + size2 + LANES]
    q = p0[:, :4] + p0[:, 4:]
    res = (q[:, 0] + q[:, 2]) + (q[:, 1] + q[:, 3])
    for i in list(range(start)) + list(range(start + size1, n)):
        res = res + mat[:, i]
    return res


def mean(x, axes):
    """numpy float32 of bnn_mean_f32: x (with the batch) -> its kept values, flat."""
    x = np.asarray(x, np.float32)
    dims, red, count, rows = plan(x.shape, tuple(axes))
    c = np.float32(count)
    with np.errstate(over="ignore", invalid="ignore"):
        if rows:
            mat = x.reshape(rows, count)
            out = np.empty(rows, np.float32)
            for phase in range(LANES):
                sel = (np.arange(rows) * count) % LANES == phase
                if sel.any():
                    out[sel] = eigen_sums(mat[sel], phase)
            return (out / c).astype(np.float32)
        xn = x.reshape(dims)
        kept = [d for d in range(4) if not red[d]]
        summed = [d for d in range(4) if red[d]]
        flat = np.transpose(xn, kept + summed).reshape(-1, count)  # reduced values in input order
        acc = np.full(flat.shape[0], -0.0, np.float32)
        for i in range(count):
            acc = acc + flat[:, i]
        return (acc / c).astype(np.float32)
