"""bnn_mean_s8.c (int8 MEAN) against its numpy reference in ops/mean_s8.py:
any axes of up to 4-D inputs, both of TFLite's paths (the spatial keep_dims
mean and QuantizedMeanOrSum), equal and different scales, sums on the ties of
the rounding shift broken toward +inf and away from zero."""

import ctypes

import numpy as np
from hypothesis import given, settings, strategies as st

from bnnkit.ops.mean_s8 import VECTOR_BLOCK, layout, mean_s8_reference, requant_params
from kernels.kernel_lib import ptr
from bnnkit.kernel_structs import ctypes_struct


MeanS8Params = ctypes_struct("bnn_mean_s8_params")


def run_mean(lib, x, axes, q, ties_up):
    """bnn_mean_s8 on x (with the batch) as bnnkit emits it; a guard after the output."""
    g = layout(x.shape, axes)
    a2 = ctypes.c_int32 * 2
    p = MeanS8Params(a2(*g["outer"]), a2(*g["outer_stride"]), a2(*g["inner"]),
                     a2(*g["inner_stride"]), q["pre"], q["mult"], q["shift"], q["post"], ties_up)
    n_out = int(np.prod([s for d, s in enumerate(x.shape) if d not in axes]))
    out = np.full(n_out + 8, 0x5A, np.int8)
    xin = np.ascontiguousarray(x, np.int8)
    lib.bnn_mean_s8(ctypes.byref(p), ptr(xin), ptr(out))
    assert (out[n_out:] == 0x5A).all(), "wrote past its output"
    return out[:n_out]


SCALES = st.floats(2.0 ** -8, 0.5, width=32)


@settings(max_examples=150, deadline=None)
@given(dims=st.lists(st.integers(1, 9), min_size=1, max_size=3),
       axes_mask=st.integers(1, 7), spatial=st.booleans(), s_in=SCALES,
       ratio=st.sampled_from([1.0, 0.5, 2.0, 0.25, 4.0, 0.37, 1.9, 0.013, 60.0]),
       zi=st.integers(-128, 127), zo=st.integers(-128, 127), same_zp=st.booleans(),
       small=st.booleans(), seed=st.integers(0, 2 ** 31))
def test_mean_s8_any_axes(lib, dims, axes_mask, spatial, s_in, ratio, zi, zo, same_zp, small,
                          seed):
    rng = np.random.default_rng(seed)
    shape = (1, *dims)
    if spatial:  # TFLite's keep_dims [1, 2] path: channels across the 16-wide blocks
        shape = (1, dims[0], dims[-1], int(rng.integers(1, 70)))
        axes = (1, 2)
    else:
        axes = tuple(d for d in range(1, len(shape)) if axes_mask >> (d - 1) & 1) or (1,)
    s_out = float(np.float32(s_in * ratio))
    zo = zi if same_zp else zo
    count = int(np.prod([shape[a] for a in axes]))
    try:
        q = requant_params((s_in, zi), (s_out, zo), count, spatial)
    except ValueError:
        return  # refused by lowering (a ratio the C cannot requantize exactly)
    # small values: many sums on the ties of the rounding shift (ratios of powers of two)
    x = rng.integers(-3, 4, shape) if small else rng.integers(-128, 128, shape)
    x = x.astype(np.int8)
    ties_up = shape[3] // VECTOR_BLOCK * VECTOR_BLOCK if spatial else 0
    np.testing.assert_array_equal(run_mean(lib, x, axes, q, ties_up),
                                  mean_s8_reference(x, axes, q, ties_up))


def test_mean_s8_ties_up_and_away(lib):
    """Sums of 4 values at odd multiples of 2: exact ties of the rounding shift
    (ratio 1: multiplier 2^30, shift -1), negative ones broken differently by
    the two rules; sums of +-1 tie in the high multiply instead (as TFLite's)."""
    x = np.zeros((1, 4, 8), np.int8)
    x[0, 0] = [-2, -6, 2, 6, -10, 10, -1, 1]  # the sums
    q = requant_params((0.1, 0), (0.1, 0), 4, spatial=False)
    assert (q["mult"], q["shift"]) == (1 << 30, -1)
    away = run_mean(lib, x, (1,), q, 0)
    up = run_mean(lib, x, (1,), q, 8)
    assert away.tolist() == [-1, -2, 1, 2, -3, 3, 0, 1]  # -0.5 -> -1, -1.5 -> -2, ...
    assert up.tolist() == [0, -1, 1, 2, -2, 3, 0, 1]     # -0.5 -> 0, -1.5 -> -1, ...
    np.testing.assert_array_equal(away, mean_s8_reference(x, (1,), q, 0))
    np.testing.assert_array_equal(up, mean_s8_reference(x, (1,), q, 8))
