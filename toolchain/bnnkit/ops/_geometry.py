"""Window geometry shared by convolutions and pools (TFLite's SAME/VALID rules)."""

from __future__ import annotations


def same_pad(in_size: int, k: int, stride: int, out_size: int) -> int:
    """Leading padding of TFLite's SAME: half the total, rounded down.

    Example:
        >>> same_pad(28, 5, 1, 28)
        2
    """
    total = max((out_size - 1) * stride + k - in_size, 0)
    return total // 2


def out_size(in_size: int, k: int, stride: int, padding: str, dilation: int = 1) -> int:
    """Output length along one axis: ``out_size(28, 2, 2, 'VALID') == 14``."""
    eff = (k - 1) * dilation + 1
    if padding == "SAME":
        return -(-in_size // stride)
    return (in_size - eff) // stride + 1


def window_layout(h: int, w: int, kh: int, kw: int, stride, padding: str):
    """(out_h, out_w, pad_top, pad_left) of a kh x kw window over an h x w input.

    Example:
        >>> window_layout(28, 28, 5, 5, (1, 1), "SAME")
        (28, 28, 2, 2)
    """
    sh, sw = stride
    oh, ow = out_size(h, kh, sh, padding), out_size(w, kw, sw, padding)
    if padding == "SAME":
        return oh, ow, same_pad(h, kh, sh, oh), same_pad(w, kw, sw, ow)
    return oh, ow, 0, 0


def pool_output_shape(in_shape, params):
    """(out_h, out_w, channels) of a pool over an (H, W, C) input."""
    h, w, c = in_shape
    (fh, fw), (sh, sw) = params["filter"], params["stride"]
    return (out_size(h, fh, sh, params["padding"]), out_size(w, fw, sw, params["padding"]), c)


def pool_geometry(low, n) -> dict:
    """in_h, in_w, channels, filter, stride, padding, out size: the fields the
    float and binary max-pool parameter structs share, by name."""
    h, w, c = low.shapes[n.inputs[0]]
    oh, ow = low.shapes[n.outputs[0]][:2]
    if low.kinds[n.inputs[0]] == "bits":
        c *= 32  # packed words: BNN_WORDS() of this gives the same word count back
    fh, fw = n.params["filter"]
    sh, sw = n.params["stride"]
    if n.params["padding"] == "SAME":
        pt, pl = same_pad(h, fh, sh, oh), same_pad(w, fw, sw, ow)
    else:
        pt = pl = 0
    return dict(in_h=h, in_w=w, channels=c, filter_h=fh, filter_w=fw, stride_h=sh, stride_w=sw,
                pad_top=pt, pad_left=pl, out_h=oh, out_w=ow)


def window_problem(filt, stride, padding) -> str | None:
    """What is wrong with a pooling window read from a file, or None.

    Example:
        >>> window_problem((2, 2), (0, 2), "VALID")
        'filter 2x2, stride 0x2, padding VALID (positive sizes, SAME or VALID needed)'
    """
    if min(*filt, *stride) < 1 or padding not in ("SAME", "VALID"):
        return (f"filter {filt[0]}x{filt[1]}, stride {stride[0]}x{stride[1]}, padding {padding} "
                "(positive sizes, SAME or VALID needed)")
    return None


def inside_windows(in_hw, filt, stride, pad_tl, out_hw):
    """Each output position of a pool and the input rows and columns its
    window covers inside the input: ``(oy, ox, ys, xs)`` with ``ys``, ``xs``
    ranges (padding contributes nothing).

    Example:
        >>> [(oy, ox, list(ys), list(xs)) for oy, ox, ys, xs in
        ...  inside_windows((2, 2), (2, 2), (1, 1), (0, 0), (2, 1))]
        [(0, 0, [0, 1], [0, 1]), (1, 0, [1], [0, 1])]
    """
    (h, w), (fh, fw), (sh, sw), (pt, pl) = in_hw, filt, stride, pad_tl
    for oy in range(out_hw[0]):
        y0 = oy * sh - pt
        ys = range(max(y0, 0), min(y0 + fh, h))
        for ox in range(out_hw[1]):
            x0 = ox * sw - pl
            yield oy, ox, ys, range(max(x0, 0), min(x0 + fw, w))


def rows_read_before_written(in_h: int, in_row_bytes: int, out_h: int, out_row_bytes: int,
                             stride_h: int, pad_top: int, rows_read: int,
                             backward: bool = False) -> bool:
    """Whether a kernel that copies each input row once, in order, and writes
    output row ``oy`` after copying input rows up to ``oy * stride_h - pad_top
    + rows_read - 1``, may write its output over its input: every output row
    ends at or before the first input row not yet copied. ``backward``: a
    one-row kernel (``rows_read`` 1, no padding) going from the last output row
    to the first, reading input row ``oy * stride_h`` for output row ``oy``:
    every output row must start at or after the end of the last input row not
    yet read.

    Example (a 3x3 depthwise conv, stride 1, SAME: yes; an int8 1x1 conv
    doubling the channels: no):
        >>> rows_read_before_written(10, 64, 10, 64, 1, 1, 3)
        True
        >>> rows_read_before_written(10, 32, 10, 64, 1, 0, 1)
        False
        >>> rows_read_before_written(10, 32, 10, 64, 1, 0, 1, backward=True)
        True
    """
    if backward:
        return all(oy * out_row_bytes >= ((oy - 1) * stride_h + 1) * in_row_bytes
                   for oy in range(1, out_h))
    for oy in range(out_h):
        copied = min(in_h, max(0, oy * stride_h - pad_top + rows_read))
        if copied < in_h and (oy + 1) * out_row_bytes > copied * in_row_bytes:
            return False
    return True
