"""Float elementwise MUL/ADD/SUB/DIV/MAXIMUM/MINIMUM (bnn_elementwise_f32.c):
the same-shape, per-channel and general-broadcast kernels against the op
module's numpy reference (bit for bit, including zeros of both signs,
overflows clamped to FLT_MAX and NaN), then whole models against LCE's
interpreter."""

import ctypes

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from bnnkit.ops.base import Node
from bnnkit.ops.elementwise import (ACT_RANGE, MAX_DIMS, Elementwise, apply_op, bcast_strides,
                                    trim_ones)
from kernels.kernel_lib import ptr
from bnnkit.kernel_structs import ctypes_struct

OPS = ["add", "mul", "sub", "div", "maximum", "minimum"]
OP_CODE = {k: i for i, k in enumerate(OPS)}
ACT_CODE = {"IDENTITY": 0, "NONE": 1, "RELU": 2, "RELU_N1_TO_1": 3, "RELU6": 4}
SPECIAL = np.array([0.0, -0.0, 1.0, -1.0, 0.5, -6.0, 7.0, np.inf, -np.inf, np.nan, 3e38, -3e38],
                   np.float32)


Bcast = ctypes_struct("bnn_elementwise_bcast_params")


def assert_same_bits(got, want):
    """Equal bit patterns, every NaN counted equal to any NaN."""
    got, want = np.asarray(got, np.float32), np.asarray(want, np.float32)
    assert got.shape == want.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    np.testing.assert_array_equal(got[ok].view(np.uint32), want[ok].view(np.uint32))


def values(rng, shape):
    x = (rng.standard_normal(shape) * 3).astype(np.float32)
    flat = x.reshape(-1)
    k = min(flat.size, len(SPECIAL))
    flat[rng.permutation(flat.size)[:k]] = SPECIAL[rng.permutation(len(SPECIAL))[:k]]
    return x


def test_apply_op_clamps_like_tflite():
    big = np.float32(3e38)
    assert apply_op("mul", big, big, "NONE") == np.finfo(np.float32).max
    assert apply_op("mul", big, big, "IDENTITY") == np.inf
    assert np.signbit(apply_op("add", np.float32(-0.0), np.float32(-0.0), "RELU"))
    assert np.isnan(apply_op("add", np.float32(np.nan), np.float32(1), "RELU6"))
    assert apply_op("maximum", np.float32(0.0), np.float32(-0.0), "IDENTITY").tobytes() == \
        np.float32(-0.0).tobytes()  # a > b ? a : b


@settings(max_examples=40, deadline=None)
@given(op=st.sampled_from(OPS), act=st.sampled_from(list(ACT_CODE)),
       n=st.integers(1, 200), seed=st.integers(0, 2**31))
def test_same_shape(lib, op, act, n, seed):
    rng = np.random.default_rng(seed)
    a, b = values(rng, n), values(rng, n)
    out = np.full(n, 7, np.float32)
    lib.bnn_elementwise_f32(OP_CODE[op], ACT_CODE[act], ptr(a), ptr(b), n, ptr(out))
    assert_same_bits(out, apply_op(op, a, b, act))


@settings(max_examples=40, deadline=None)
@given(op=st.sampled_from(OPS), act=st.sampled_from(list(ACT_CODE)),
       pixels=st.integers(1, 20), channels=st.integers(1, 40), c_first=st.booleans(),
       seed=st.integers(0, 2**31))
def test_channel(lib, op, act, pixels, channels, c_first, seed):
    rng = np.random.default_rng(seed)
    x, c = values(rng, (pixels, channels)), values(rng, channels)
    out = np.full_like(x, 7)
    lib.bnn_elementwise_channel_f32(OP_CODE[op], ACT_CODE[act], ptr(x), x.size, ptr(c),
                                    channels, int(c_first), ptr(out))
    want = apply_op(op, c, x, act) if c_first else apply_op(op, x, c, act)
    assert_same_bits(out, want)


@st.composite
def broadcast_pair(draw):
    rank = draw(st.integers(1, MAX_DIMS))
    out = [draw(st.integers(1, 5)) for _ in range(rank)]
    shapes = []
    for _ in range(2):
        s = [d if draw(st.booleans()) else 1 for d in out]
        shapes.append(tuple(s[draw(st.integers(0, rank - 1)):]))  # may be of lower rank
    return tuple(out), shapes[0], shapes[1]


@settings(max_examples=60, deadline=None)
@given(op=st.sampled_from(OPS), act=st.sampled_from(list(ACT_CODE)), pair=broadcast_pair(),
       seed=st.integers(0, 2**31))
def test_broadcast(lib, op, act, pair, seed):
    _, sa, sb = pair
    out_shape = tuple(np.broadcast_shapes(sa, sb, (1,)))
    rng = np.random.default_rng(seed)
    a, b = values(rng, sa), values(rng, sb)
    dims = [1] * (MAX_DIMS - len(out_shape)) + list(out_shape)
    p = Bcast(OP_CODE[op], ACT_CODE[act], (ctypes.c_int32 * 4)(*dims),
              (ctypes.c_int32 * 4)(*bcast_strides(sa, out_shape)),
              (ctypes.c_int32 * 4)(*bcast_strides(sb, out_shape)))
    out = np.full(out_shape, 7, np.float32)
    lib.bnn_elementwise_bcast_f32(ctypes.byref(p), ptr(a), ptr(b), ptr(out))
    want = apply_op(op, np.broadcast_to(a, out_shape), np.broadcast_to(b, out_shape), act)
    assert_same_bits(out, want)


def test_node_reference_matches_numpy_broadcast():
    """The op module's reference on each node form reads its operands in the
    op's order (a constant first for swap)."""
    rng = np.random.default_rng(3)
    x = values(rng, (4, 4, 6))
    low = type("Low", (), {"shapes": {0: (4, 4, 6), 1: (4, 4, 6)}})()
    kind = Elementwise()
    c = values(rng, (4, 1, 6))
    n = Node("sub", [0], [1], {"op_act": "RELU6", "swap": True}, {"operand": c})
    assert_same_bits(kind.reference(n, [x], low), apply_op("sub", c, x, "RELU6"))
    v = values(rng, 6)
    n = Node("mul", [0], [1], {"relu": True, "op_act": "RELU", "swap": False}, {"values": v})
    assert_same_bits(kind.reference(n, [x], low), apply_op("mul", x, v, "RELU"))
    assert trim_ones((1, 1, 6)) == (6,)
    assert set(ACT_RANGE) == set(ACT_CODE)


def _lce_models():
    from bnnkit.tfenv import keras, tf

    keras.utils.set_random_seed(11)
    L = keras.layers
    inp = keras.Input((8, 8, 16))
    # two activations: (8,8,16) x (1,1,16) (channel path), (8,8,16) + (8,8,1)
    # (general broadcast), fused RELU6, then same-shape SUB/MAXIMUM/MINIMUM
    pooled = L.MaxPooling2D(8)(inp)
    y = L.Lambda(lambda t: t[0] * t[1])([inp, pooled])
    one = L.Conv2D(1, 1)(inp)
    y = L.Lambda(lambda t: t[0] + t[1])([y, one])
    y = L.Lambda(lambda t: tf.nn.relu6(t[0] * t[1]))([y, L.Conv2D(16, 1)(inp)])
    z = L.Conv2D(16, 3, padding="same")(inp)
    y = L.Subtract()([y, z])
    y = L.Maximum()([y, L.Lambda(lambda t: t * 0.5)(z)])
    y = L.Minimum()([L.Lambda(lambda t: t[0] / t[1])([y, pooled]), z])
    m1 = keras.Model(inp, y)
    # constants: scalar, per channel, (8,1,16) general, constant first for SUB/DIV
    inp = keras.Input((8, 8, 16))
    cw = np.random.default_rng(2).normal(size=(8, 1, 16)).astype(np.float32)
    cc = np.random.default_rng(3).normal(size=(16,)).astype(np.float32)
    y = L.Lambda(lambda t: 1.5 - t)(inp)
    y = L.Lambda(lambda t: t * tf.constant(cw))(y)
    y = L.Lambda(lambda t: tf.nn.relu(t + tf.constant(cc)))(y)
    y = L.Lambda(lambda t: tf.constant(cc) - t)(y)
    y = L.Lambda(lambda t: tf.maximum(t, tf.constant(cw)))(y)
    y = L.Lambda(lambda t: tf.clip_by_value(t / tf.constant(cw), -1.0, 1.0))(y)
    y = L.Lambda(lambda t: tf.minimum(tf.constant(cc), t))(y)
    m2 = keras.Model(inp, y)
    return m1, m2


def test_bit_exact_with_lce(tmp_path):
    from bnnkit.convert import convert_model
    from bnnkit.simulate import compare_on_inputs
    from bnnkit.tflite_reader import read_tflite

    seen = set()
    for k, model in enumerate(_lce_models()):
        path = tmp_path / f"m{k}.tflite"
        path.write_bytes(convert_model(model))
        seen |= {op.type for op in read_tflite(path).ops}
        x = np.random.default_rng(k).normal(size=(20, 8, 8, 16)).astype(np.float32) * 2
        c, ref, _ = compare_on_inputs(path, x, build_dir=tmp_path / f"b{k}")
        np.testing.assert_array_equal(c.view(np.uint32), ref.view(np.uint32))
    assert {"MUL", "ADD", "SUB", "DIV", "MAXIMUM", "MINIMUM"} <= seen, seen


if __name__ == "__main__":
    pytest.main([__file__, "-q"])
