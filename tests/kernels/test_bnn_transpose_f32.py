"""bnn_transpose_f32.c (TRANSPOSE) against ops/transpose.py's reference, the
lowering's checks, and end-to-end models against LCE's interpreter (bit-exact:
the kernel only copies)."""

import ctypes
import itertools
from types import SimpleNamespace

import numpy as np
from hypothesis import given, settings, strategies as st

from bnnkit.ops import Node
from bnnkit.ops._datamove import strip_batch
from bnnkit.ops.transpose import Transpose
from kernels.kernel_lib import ptr
from bnnkit.kernel_structs import ctypes_struct

OP = Transpose()


TransposeParams = ctypes_struct("bnn_transpose_params")


@settings(max_examples=80, deadline=None)
@given(rank=st.integers(1, 4), dims=st.lists(st.integers(1, 5), min_size=4, max_size=4),
       data=st.data(), seed=st.integers(0, 2**31))
def test_transpose_matches_reference(lib, rank, dims, data, seed):
    shape = tuple(dims[:rank])
    if rank > 1 and data.draw(st.booleans()):
        shape = (1,) + shape[1:]  # a batch, stripped in the lowered shapes
    perm = list(data.draw(st.sampled_from(list(itertools.permutations(range(rank))))))
    x = np.random.default_rng(seed).normal(size=shape).astype(np.float32)
    n = Node("transpose", [0], [1], {"rank": rank, "perm": perm})
    low = SimpleNamespace(shapes={0: strip_batch(shape)})
    expected = OP.reference(n, [x.reshape(strip_batch(shape))], low)
    assert expected.shape == OP.output_shape(n, low) == strip_batch([shape[p] for p in perm])
    in_shape, perm4 = OP.fields(n, low)
    p = TransposeParams((ctypes.c_int32 * 4)(*in_shape), (ctypes.c_int32 * 4)(*perm4))
    out = np.full(x.size + 1, np.nan, np.float32)
    lib.bnn_transpose_f32(ctypes.byref(p), ptr(x), ptr(out))
    assert np.isnan(out[-1])  # nothing written past the end
    np.testing.assert_array_equal(out[:-1], expected.reshape(-1))


# ------------------------------------------------------------------ lowering

def _lower_one(x_shape, perm, out_shape):
    from bnnkit.graph import Graph, Op, Tensor
    from bnnkit.lower import LowerContext

    perm = np.asarray(perm, np.int32)
    tensors = [Tensor(0, "x", x_shape, "float32"), Tensor(1, "perm", perm.shape, "int32", perm),
               Tensor(2, "out", out_shape, "float32")]
    op = Op(0, "TRANSPOSE", [0, 1], [2], {})
    ctx = LowerContext(Graph(tensors, [op], [0], [2]))
    ctx.activation(0)
    ctx.op, ctx.where = op, "TRANSPOSE"
    return OP.lower(ctx, op), ctx.problems


def test_lower_transpose():
    node, problems = _lower_one((1, 4, 5, 3), [0, 3, 1, 2], (1, 3, 4, 5))
    assert not problems and node.params == {"rank": 4, "perm": [0, 3, 1, 2]}
    for perm, out, message in (([0, 3, 1, 2], (1, 3, 5, 4), "inputs give (1, 3, 4, 5)"),
                               ([0, 3, 3, 2], (1, 3, 3, 5), "is not a permutation"),
                               ([0, 1, 2], (1, 4, 5), "is not a permutation")):
        node, problems = _lower_one((1, 4, 5, 3), perm, out)
        assert node is None and message in problems[0], (message, problems)
    node, problems = _lower_one((1, 2, 2, 2, 2), [0, 1, 2, 4, 3], (1, 2, 2, 2, 2))
    assert node is None and "a rank-5 tensor" in problems[0]


# ------------------------------------------------------------------ end to end

def test_permutes_bit_exact_with_lce(tmp_path):
    """Keras Permute layers (TRANSPOSE with the batch kept in place) and a
    tf.transpose of a rank-3 tensor."""
    from bnnkit.convert import convert_model
    from bnnkit.simulate import compare_on_inputs
    from bnnkit.tfenv import keras, tf
    from bnnkit.tflite_reader import read_tflite

    keras.utils.set_random_seed(11)
    inp = keras.Input((5, 6, 3))
    x = keras.layers.Conv2D(4, 3, padding="same")(inp)
    x = keras.layers.Permute((3, 1, 2))(x)  # (4, 5, 6)
    x = keras.layers.Conv2D(7, 2)(x)  # (3, 4, 7)
    x = keras.layers.Permute((2, 3, 1))(x)  # (4, 7, 3)
    x = keras.layers.Reshape((28, 3))(x)
    x = keras.layers.Lambda(lambda t: tf.transpose(t, [2, 0, 1]))(x)  # (3, 28, 1) incl. batch
    path = tmp_path / "transpose.tflite"
    path.write_bytes(convert_model(keras.Model(inp, x)))
    types = [op.type for op in read_tflite(path).ops]
    assert types.count("TRANSPOSE") == 3, types

    xs = np.random.default_rng(4).normal(size=(20, 5, 6, 3)).astype(np.float32)
    c, ref, _ = compare_on_inputs(path, xs, build_dir=tmp_path)
    np.testing.assert_array_equal(c.view(np.uint32), ref.view(np.uint32))
