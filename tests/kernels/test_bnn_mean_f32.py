"""Float MEAN over axes (bnn_mean_f32.c) against the op module's numpy reference
(in-order sums from -0.0f, or Eigen's 8-lane row sums for a reduced last
dimension, then / count), bit for bit; and the generated C against LCE's
interpreter on converted Keras models, bit for bit."""

import ctypes

import numpy as np
from hypothesis import given, settings, strategies as st

from bnnkit.ops.mean import mean, plan
from kernels.kernel_lib import ptr
from bnnkit.kernel_structs import ctypes_struct


MeanParams = ctypes_struct("bnn_mean_params")


def run_kernel(lib, x, axes):
    dims, red, count, rows = plan(x.shape, tuple(axes))
    p = MeanParams((ctypes.c_int32 * 4)(*dims), (ctypes.c_int32 * 4)(*map(int, red)), count, rows)
    n_out = x.size // count
    out = np.full(n_out + 16, np.nan, np.float32)  # NaN guard: writes stay inside the output
    lib.bnn_mean_f32(ctypes.byref(p), ptr(np.ascontiguousarray(x, np.float32)), ptr(out))
    assert np.isnan(out[n_out:]).all()
    return out[:n_out]


def assert_bits_equal(a, b):
    np.testing.assert_array_equal(np.asarray(a, np.float32).view(np.uint32),
                                  np.asarray(b, np.float32).view(np.uint32))


@settings(max_examples=150, deadline=None)
@given(shape=st.lists(st.one_of(st.integers(1, 3), st.integers(4, 40)), min_size=0, max_size=3),
       data=st.data(), scale=st.sampled_from([1.0, 1e3, 1e-3]), seed=st.integers(0, 2**31))
def test_mean(lib, shape, data, scale, seed):
    shape = (1,) + tuple(shape)
    axes = data.draw(st.sets(st.integers(0, len(shape) - 1), min_size=1))
    rng = np.random.default_rng(seed)
    x = (rng.normal(size=shape) * scale).astype(np.float32)
    x = np.where(rng.random(shape) < 0.1, np.float32(-0.0), x)
    assert_bits_equal(run_kernel(lib, x, axes), mean(x, axes))


def test_mean_spatial_and_channel_forms(lib):
    """Global pools on 512 channels (4x4 and 1x1), NHWC spatial means, means
    over channels (Eigen's order, rows at every alignment phase) against plain
    means, and the paths the shapes choose."""
    rng = np.random.default_rng(0)
    for shape, axes, rows in (((1, 4, 4, 512), (1, 2), 0), ((1, 1, 1, 512), (1, 2), 0),
                              ((1, 7, 5, 70), (1, 2), 0), ((1, 6, 5, 70), (3,), 30),
                              ((1, 5, 7, 13), (2, 3), 5), ((1, 3, 17, 1), (2,), 3),
                              ((1, 1, 7, 13), (2, 3), 0), ((1, 5, 7, 13), (1, 3), 0)):
        assert plan(shape, axes)[3] == rows
        x = rng.normal(size=shape).astype(np.float32)
        got = run_kernel(lib, x, axes)
        assert_bits_equal(got, mean(x, axes))
        assert np.allclose(got, x.mean(axis=axes).reshape(-1), rtol=1e-5, atol=1e-5)


def test_mean_signed_zero_and_overflow(lib):
    """All -0.0f averages to -0.0f on both paths (the interpreter's sums start
    from the first value); a sum overflowing to inf stays inf (no clamp)."""
    for shape, axes in (((1, 3, 3, 17), (1, 2)), ((1, 3, 3, 17), (3,)), ((1, 3, 3, 17), (1, 2, 3))):
        got = run_kernel(lib, np.full(shape, -0.0, np.float32), axes)
        assert np.signbit(got).all() and not got.any()
        got = run_kernel(lib, np.full(shape, 3e38, np.float32), axes)
        assert np.isposinf(got).all()


def test_mean_reference_orders():
    """The reference against plain loops (guards the numpy): the in-order sum
    and Eigen's packet order for one row that starts 3 floats past a boundary."""
    rng = np.random.default_rng(1)
    x = (rng.normal(size=(1, 4, 3, 5)) * 1e3).astype(np.float32)
    ref = mean(x, (1, 3))
    for j in range(3):
        acc = np.float32(-0.0)
        for i in range(4):
            for k in range(5):
                acc = np.float32(acc + x[0, i, j, k])
        assert np.float32(acc / np.float32(20)).view(np.uint32) == ref[j].view(np.uint32)
    x = (rng.normal(size=(1, 2, 45)) * 1e3).astype(np.float32)  # row 1 starts at 45 = 5*8 + 5
    row = x[0, 1]
    start = 3  # first aligned element of row 1: 48 - 45
    p0, p1 = row[3:11].copy(), row[11:19].copy()
    for i in (19,):  # aligned part 3..43: one more double packet, then one single packet
        p0, p1 = p0 + row[i:i + 8], p1 + row[i + 8:i + 16]
    p0 = p0 + p1
    p0 = p0 + row[35:43]
    q = p0[:4] + p0[4:]
    res = (q[0] + q[2]) + (q[1] + q[3])
    for i in list(range(start)) + [43, 44]:
        res = np.float32(res + row[i])
    assert np.float32(res / np.float32(45)).view(np.uint32) == mean(x, (2,))[1].view(np.uint32)


def _mean_models():
    """Converted models with the forms real networks use, and the other path:
    GlobalAveragePooling2D on a 4x4x512 map; tf.reduce_mean over {1, 2} with
    keep_dims on 70 channels; a mean over channels (Eigen's order) and one over
    axes {1, 3} of odd sizes."""
    from bnnkit.tfenv import keras, tf

    def lam(axes, keep):
        return keras.layers.Lambda(lambda t: tf.reduce_mean(t, axis=axes, keepdims=keep))

    inp = keras.Input((4, 4, 512))
    yield "gap_512", keras.Model(inp, keras.layers.GlobalAveragePooling2D()(inp)), (4, 4, 512)
    inp = keras.Input((7, 5, 70))
    yield "mean12_keep", keras.Model(inp, lam([1, 2], True)(inp)), (7, 5, 70)
    inp = keras.Input((6, 5, 37))
    yield "mean_channels", keras.Model(inp, lam([-1], False)(inp)), (6, 5, 37)
    inp = keras.Input((5, 7, 13))
    yield "mean13_keep", keras.Model(inp, lam([1, 3], True)(inp)), (5, 7, 13)


def test_mean_bit_exact_with_lce(tmp_path):
    from bnnkit.convert import convert_model
    from bnnkit.simulate import compare_on_inputs

    for i, (name, model, shape) in enumerate(_mean_models()):
        path = tmp_path / f"{name}.tflite"
        path.write_bytes(convert_model(model))
        rng = np.random.default_rng(i)
        xs = (rng.normal(size=(20,) + shape) * rng.choice([1e-3, 1, 1e3], (20, 1, 1, 1)))
        xs[0] = -0.0
        c, ref, gen = compare_on_inputs(path, xs.astype(np.float32), build_dir=tmp_path)
        assert "bnn_mean_f32(" in "\n".join(s for _, st_ in gen.program.calls for s in st_)
        assert_bits_equal(c, ref)
