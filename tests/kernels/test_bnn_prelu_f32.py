"""Float PReLU (bnn_prelu_f32.c): per-channel and general-broadcast alpha
against the op module's reference (x >= 0 ? x : x * alpha, -0.0 kept), then
Keras PReLU layers against LCE's interpreter."""

import ctypes

import numpy as np
from hypothesis import given, settings, strategies as st

from bnnkit.ops.base import Node
from bnnkit.ops.elementwise import MAX_DIMS, bcast_strides
from bnnkit.ops.prelu import PRelu
from kernels.kernel_lib import ptr
from bnnkit.kernel_structs import ctypes_struct

SPECIAL = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -1.0, 1.0], np.float32)


Params = ctypes_struct("bnn_prelu_params")


def reference(x, alpha, shape):
    low = type("Low", (), {"shapes": {0: shape, 1: shape}})()
    return PRelu().reference(Node("prelu", [0], [1], {}, {"alpha": alpha}), [x], low)


def assert_same_bits(got, want):
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    np.testing.assert_array_equal(got[ok].view(np.uint32), want[ok].view(np.uint32))


def data(rng, shape):
    x = rng.standard_normal(shape).astype(np.float32)
    flat = x.reshape(-1)
    k = min(flat.size, len(SPECIAL))
    flat[rng.permutation(flat.size)[:k]] = SPECIAL[:k]
    return x


def test_negative_zero_is_kept():
    out = reference(np.array([-0.0, 0.0, -2.0], np.float32), np.float32([-0.5]), (3,))
    assert out.view(np.uint32).tolist() == [0x80000000, 0, 0x3F800000]


@settings(max_examples=40, deadline=None)
@given(pixels=st.integers(1, 30), channels=st.integers(1, 40), seed=st.integers(0, 2**31))
def test_channel(lib, pixels, channels, seed):
    rng = np.random.default_rng(seed)
    x, alpha = data(rng, (pixels, channels)), rng.normal(size=channels).astype(np.float32)
    out = np.full_like(x, 7)
    lib.bnn_prelu_channel_f32(ptr(x), x.size, ptr(alpha), channels, ptr(out))
    assert_same_bits(out, reference(x, alpha, x.shape))


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=MAX_DIMS),
       mask=st.lists(st.booleans(), min_size=MAX_DIMS, max_size=MAX_DIMS),
       seed=st.integers(0, 2**31))
def test_broadcast(lib, shape, mask, seed):
    rng = np.random.default_rng(seed)
    shape = tuple(shape)
    ashape = tuple(d if m else 1 for d, m in zip(shape, mask))
    x, alpha = data(rng, shape), rng.normal(size=ashape).astype(np.float32)
    dims = [1] * (MAX_DIMS - len(shape)) + list(shape)
    p = Params((ctypes.c_int32 * 4)(*dims), (ctypes.c_int32 * 4)(*bcast_strides(ashape, shape)))
    out = np.full_like(x, 7)
    lib.bnn_prelu_bcast_f32(ctypes.byref(p), ptr(x), ptr(alpha), ptr(out))
    assert_same_bits(out, reference(x, alpha, shape))


def test_bit_exact_with_lce(tmp_path):
    from bnnkit.convert import convert_model
    from bnnkit.simulate import compare_on_inputs
    from bnnkit.tfenv import keras
    from bnnkit.tflite_reader import read_tflite

    keras.utils.set_random_seed(4)
    L = keras.layers
    init = keras.initializers.RandomNormal(0.1, 0.5)
    inp = keras.Input((8, 8, 16))
    y = L.PReLU(alpha_initializer=init, shared_axes=[1, 2])(inp)  # alpha (1, 1, 16)
    y = L.Conv2D(16, 3, padding="same")(y)
    y = L.PReLU(alpha_initializer=init)(y)  # alpha (8, 8, 16)
    y = L.PReLU(alpha_initializer=init, shared_axes=[2])(y)  # alpha (8, 1, 16)
    path = tmp_path / "m.tflite"
    path.write_bytes(convert_model(keras.Model(inp, y)))
    assert [op.type for op in read_tflite(path).ops].count("PRELU") == 3
    x = np.random.default_rng(0).normal(size=(20, 8, 8, 16)).astype(np.float32)
    c, ref, _ = compare_on_inputs(path, x, build_dir=tmp_path / "b")
    np.testing.assert_array_equal(c.view(np.uint32), ref.view(np.uint32))
