"""bnn_select_f32.c (tf.where's sign as SELECT(GREATER_EQUAL)) against the op's
reference, and a tf.where quantizer model against LCE's interpreter."""


import numpy as np
from hypothesis import given, settings, strategies as st

from kernels.kernel_lib import f32, ptr


def _node(threshold, a, b):
    from bnnkit.ops import Node

    return Node("select", [0], [1], {"threshold": threshold},
                {"if_true": np.asarray(a, np.float32), "if_false": np.asarray(b, np.float32)})


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 300), uniform_a=st.booleans(), uniform_b=st.booleans(),
       threshold=st.sampled_from([0.0, -0.0, 0.5, -1.0]), seed=st.integers(0, 2**31))
def test_select_ge(lib, n, uniform_a, uniform_b, threshold, seed):
    from bnnkit.ops.select import Select

    rng = np.random.default_rng(seed)
    x = rng.normal(size=n).astype(np.float32)
    x[::7] = threshold  # ties go to the first branch
    x[::11] = -0.0
    a = np.float32([1.0]) if uniform_a else rng.normal(size=n).astype(np.float32)
    b = np.float32([-1.0]) if uniform_b else rng.normal(size=n).astype(np.float32)
    node = _node(threshold, a, b)
    expected = Select().reference(node, [x], None)
    out = np.full(n, np.nan, np.float32)
    lib.bnn_select_ge_f32(ptr(x), n, f32(threshold), ptr(a), a.size, ptr(b), b.size, ptr(out))
    np.testing.assert_array_equal(out, expected)


def test_tf_where_sign_bit_exact_with_lce(tmp_path):
    """LCE's tf.where binary quantizer before a float conv with +-1 weights."""
    from bnnkit.convert import convert_model
    from bnnkit.lower import lower
    from bnnkit.simulate import compare_on_inputs
    from bnnkit.tfenv import keras, lq, tf
    from bnnkit.tflite_reader import read_tflite

    def where_sign(t):
        return tf.where(t >= 0, tf.ones_like(t), -tf.ones_like(t))

    inp = keras.Input((8, 8, 5))
    x = lq.layers.QuantConv2D(12, 3, padding="same", input_quantizer=where_sign,
                              kernel_quantizer=where_sign, use_bias=False)(inp)
    x = keras.layers.Lambda(where_sign)(x)
    model = keras.Model(inp, x)
    path = tmp_path / "where.tflite"
    path.write_bytes(convert_model(model))
    assert "select" in [n.kind for n in lower(read_tflite(path)).nodes]
    xs = np.random.default_rng(3).normal(size=(20, 8, 8, 5)).astype(np.float32)
    xs[:, 0, 0, :] = 0.0  # the >= tie
    c, ref, _ = compare_on_inputs(path, xs, build_dir=tmp_path)
    np.testing.assert_array_equal(c, ref)
