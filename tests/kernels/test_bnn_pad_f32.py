"""bnn_pad_f32.c (PAD, PADV2) against ops/pad.py's reference, the lowering's
checks, and end-to-end models against LCE's interpreter (bit-exact: the kernel
only copies and fills)."""

import ctypes
from types import SimpleNamespace

import numpy as np
from hypothesis import given, settings, strategies as st

from bnnkit.ops import Node
from bnnkit.ops._datamove import strip_batch
from bnnkit.ops.pad import Pad
from kernels.kernel_lib import ptr
from bnnkit.kernel_structs import ctypes_struct

OP = Pad()


PadParams = ctypes_struct("bnn_pad_params")


def run_pad(lib, n, low, x):
    shape, before, after, bits = OP.fields(n, low)
    p = PadParams((ctypes.c_int32 * 4)(*shape), (ctypes.c_int32 * 4)(*before),
                  (ctypes.c_int32 * 4)(*after), bits)
    size = int(np.prod([b + s + a for b, s, a in zip(shape, before, after)]))
    out = np.full(size + 1, 12345.0, np.float32)
    lib.bnn_pad_f32(ctypes.byref(p), ptr(np.ascontiguousarray(x, np.float32)), ptr(out))
    assert out[-1] == 12345.0  # nothing written past the end
    return out[:-1]


VALUES = [0.0, -0.0, 1.5, -np.inf, np.inf, np.nan, np.float32(-3.4e38)]


@settings(max_examples=80, deadline=None)
@given(rank=st.integers(1, 4), dims=st.lists(st.integers(1, 4), min_size=4, max_size=4),
       pads=st.lists(st.integers(0, 3), min_size=8, max_size=8),
       value=st.sampled_from(VALUES), seed=st.integers(0, 2**31))
def test_pad_matches_reference(lib, rank, dims, pads, value, seed):
    shape = tuple(dims[:rank])
    before, after = pads[:rank], pads[4:4 + rank]
    if rank > 1:
        shape = (1,) + shape[1:]
        before[0] = after[0] = 0  # no batch padding
    x = np.random.default_rng(seed).normal(size=shape).astype(np.float32)
    n = Node("pad", [0], [1], {"rank": rank, "before": list(before), "after": list(after),
                               "value": np.float32(value)})
    low = SimpleNamespace(shapes={0: strip_batch(shape)})
    expected = OP.reference(n, [x.reshape(strip_batch(shape))], low)
    assert expected.shape == OP.output_shape(n, low)
    got = run_pad(lib, n, low, x)
    np.testing.assert_array_equal(got.view(np.uint32), expected.reshape(-1).view(np.uint32))


def test_pad_value_bits_in_the_c_literal():
    """The generated parameter struct carries the value's bits, INT32_MIN too."""
    class B:
        low = SimpleNamespace(shapes={0: (2, 2, 1), 1: (2, 2, 1)})

        def __init__(self):
            self.params = []

        def param(self, text):
            self.params.append(text)

        def buf(self, t):
            return f"buf{t}"

    for value, literal in ((-0.0, "(-2147483647 - 1)"), (1.5, "1069547520"),
                           (-np.inf, "-8388608")):
        b = B()
        n = Node("pad", [0], [1], {"rank": 4, "before": [0] * 4, "after": [0] * 4,
                                   "value": np.float32(value)})
        assert OP.emit(b, 3, n) == ["bnn_pad_f32(&pad_p03, buf0, buf1);"]
        assert f"{{0, 0, 0, 0}}, {literal}}};" in b.params[0]


# ------------------------------------------------------------------ lowering

def _lower_one(op_type, x_shape, pads, out_shape, value=None, value_dtype="float32"):
    from bnnkit.graph import Graph, Op, Tensor
    from bnnkit.lower import LowerContext

    pads = np.asarray(pads, np.int32)
    tensors = [Tensor(0, "x", x_shape, "float32"), Tensor(1, "pads", pads.shape, "int32", pads)]
    ins = [0, 1]
    if value is not None:
        v = np.asarray(value, value_dtype)
        tensors.append(Tensor(2, "value", v.shape, value_dtype, v))
        ins.append(2)
    tensors.append(Tensor(len(tensors), "out", out_shape, "float32"))
    op = Op(0, op_type, ins, [len(tensors) - 1], {})
    ctx = LowerContext(Graph(tensors, [op], [0], [len(tensors) - 1]))
    ctx.activation(0)
    ctx.op, ctx.where = op, op_type
    return OP.lower(ctx, op), ctx.problems


def test_lower_pad_and_padv2():
    node, problems = _lower_one("PAD", (1, 6, 6, 16), [[0, 0], [1, 2], [0, 1], [0, 0]],
                                (1, 9, 7, 16))
    assert not problems and node.params["before"] == [0, 1, 0, 0] and node.params["value"] == 0
    node, problems = _lower_one("PADV2", (1, 6, 6, 16), [[0, 0], [1, 1], [0, 0], [2, 0]],
                                (1, 8, 6, 18), np.float32(-1.25))
    assert not problems and node.params["value"] == np.float32(-1.25)


def test_lower_refuses_bad_pads():
    cases = [
        ("PAD", (1, 6, 6, 2), [[0, 0], [1, 1], [0, 0], [0, 0]], (1, 8, 6, 3), None,
         "inputs give (1, 8, 6, 2)"),
        ("PAD", (1, 6, 6, 2), [[0, 0], [-1, 1], [0, 0], [0, 0]], (1, 6, 6, 2), None,
         "negative paddings"),
        ("PAD", (1, 6, 6, 2), [[1, 0], [0, 0], [0, 0], [0, 0]], (2, 6, 6, 2), None,
         "padding the batch dimension"),
        ("PAD", (1, 6, 6, 2), [[0, 0], [1, 1]], (1, 8, 6, 2), None,
         "paddings of shape (2, 2) for a rank-4 tensor"),
        ("PADV2", (1, 6, 6, 2), [[0, 0]] * 4, (1, 6, 6, 2), [1.0, 2.0], "constant float32 scalar"),
    ]
    for op_type, shape, pads, out, value, message in cases:
        node, problems = _lower_one(op_type, shape, pads, out, value)
        assert node is None and message in problems[0], (message, problems)


# ------------------------------------------------------------------ end to end

def test_pads_bit_exact_with_lce(tmp_path):
    """ZeroPadding2D before a conv (MeliusNet), tf.pad with constant values
    (PADV2: 1.5, -inf before a max pool) and a rank-2 pad of the flattened result."""
    from bnnkit.convert import convert_model
    from bnnkit.simulate import compare_on_inputs
    from bnnkit.tfenv import keras, tf
    from bnnkit.tflite_reader import read_tflite

    keras.utils.set_random_seed(7)
    inp = keras.Input((7, 6, 3))
    x = keras.layers.ZeroPadding2D(((1, 2), (0, 1)))(inp)
    x = keras.layers.Conv2D(5, 3)(x)  # (8, 5, 5)
    x = keras.layers.Lambda(lambda t: tf.pad(t, [[0, 0], [1, 0], [2, 2], [0, 3]],
                                             constant_values=1.5))(x)
    x = keras.layers.Lambda(lambda t: tf.pad(t, [[0, 0], [1, 1], [1, 1], [0, 0]],
                                             constant_values=-np.inf))(x)
    x = keras.layers.MaxPooling2D(3)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Lambda(lambda t: tf.pad(t, [[0, 0], [2, 3]]))(x)
    path = tmp_path / "pad.tflite"
    path.write_bytes(convert_model(keras.Model(inp, x)))
    types = [op.type for op in read_tflite(path).ops]
    assert types.count("PAD") >= 1 and types.count("PADV2") == 2, types

    xs = np.random.default_rng(2).normal(size=(20, 7, 6, 3)).astype(np.float32)
    c, ref, _ = compare_on_inputs(path, xs, build_dir=tmp_path)
    np.testing.assert_array_equal(c.view(np.uint32), ref.view(np.uint32))
