"""Float unary activations (bnn_activation_f32.c) against the op module's numpy
reference, bit for bit on normal values, zeros of both signs, infinities,
ties for ROUND and the saturation ranges of LOGISTIC and TANH; then tf_keras
models against LCE's interpreter (whose LOGISTIC, TANH and HARD_SWISH are
XNNPACK's AVX2/FMA3 formulas, reproduced exactly)."""

import ctypes

import numpy as np
from hypothesis import given, settings, strategies as st

from bnnkit.ops.activation import FUNCS, activation_reference, round_tflite
from kernels.kernel_lib import ptr

CODE = {f: i for i, f in enumerate(FUNCS)}
SPECIAL = np.array([0.0, -0.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, -0.3, 3.0, -3.0, 6.0, -1.0, 1.0,
                    np.inf, -np.inf, np.nan, 88.7, -88.7, 9.0, -9.0, 8388609.0, -8388607.5, 1e30,
                    -1e30, 0.49999997, 20.0, -20.0, 87.0, -87.4], np.float32)


def assert_same_bits(got, want):
    got, want = np.asarray(got, np.float32), np.asarray(want, np.float32)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    np.testing.assert_array_equal(got[ok].view(np.uint32), want[ok].view(np.uint32))


def run(lib, fn, x, alpha=0.0):
    out = np.full_like(x, 7)
    lib.bnn_activation_f32(CODE[fn], ptr(x), x.size, ctypes.c_float(alpha), ptr(out))
    return out


def test_round_is_tflite_half_to_even():
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, -0.3, 0.3], np.float32)
    assert round_tflite(x).tolist() == [0, 2, 2, -0.0, -2, -2, 0, 0]
    assert not np.signbit(round_tflite(np.float32(-0.3)))  # +0.0, unlike rintf


@settings(max_examples=60, deadline=None)
@given(fn=st.sampled_from(FUNCS), n=st.integers(1, 300), scale=st.sampled_from([1.0, 4.0, 30.0]),
       alpha=st.floats(-2, 2, width=32), seed=st.integers(0, 2**31))
def test_kernel_matches_reference(lib, fn, n, scale, alpha, seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(n) * scale).astype(np.float32)
    k = min(n, len(SPECIAL))
    x[rng.permutation(n)[:k]] = SPECIAL[rng.permutation(len(SPECIAL))[:k]]
    assert_same_bits(run(lib, fn, x, alpha), activation_reference(fn, x, alpha))


def test_transcendentals_on_a_sweep(lib):
    """LOGISTIC and TANH over 2^20 values spread over their whole range."""
    x = np.linspace(-100, 100, 1 << 20, dtype=np.float32)
    for fn in ("LOGISTIC", "TANH", "HARD_SWISH"):
        assert_same_bits(run(lib, fn, x), activation_reference(fn, x))


def test_bit_exact_with_lce(tmp_path):
    from bnnkit.convert import convert_model
    from bnnkit.simulate import compare_on_inputs
    from bnnkit.tfenv import keras, tf
    from bnnkit.tflite_reader import read_tflite

    L = keras.layers
    chain = [L.ReLU(), L.Lambda(lambda t: t * 3.0 - 5.0), L.Lambda(tf.abs), L.ReLU(max_value=6.0),
             L.Lambda(lambda t: t - 2.0), L.Activation("sigmoid"),
             L.Lambda(lambda t: (t - 0.5) * 8.0), L.Activation("tanh"),
             L.Lambda(lambda t: t * 5.0), L.LeakyReLU(alpha=0.3), L.Lambda(lambda t: t - 2.0),
             L.Lambda(tf.round), L.Lambda(lambda t: t * 0.7), L.Lambda(tf.floor),
             L.Lambda(lambda t: t * tf.nn.relu6(t + 3.0) * (1.0 / 6.0)),
             L.Lambda(lambda t: t * 0.3), L.Lambda(tf.math.ceil), L.Lambda(tf.negative),
             L.Lambda(lambda t: tf.clip_by_value(t, -1.0, 1.0))]
    inp = keras.Input((6, 6, 8))
    y = inp
    for layer in chain:
        y = layer(y)
    path = tmp_path / "m.tflite"
    path.write_bytes(convert_model(keras.Model(inp, y)))
    ops = {op.type for op in read_tflite(path).ops}
    assert {"RELU6", "LOGISTIC", "TANH", "LEAKY_RELU", "ABS", "ROUND", "FLOOR", "CEIL", "NEG",
            "RELU_N1_TO_1", "HARD_SWISH", "RELU"} <= ops, ops
    x = (np.random.default_rng(0).normal(size=(20, 6, 6, 8)) * 4).astype(np.float32)
    c, ref, _ = compare_on_inputs(path, x, build_dir=tmp_path / "b")
    np.testing.assert_array_equal(c.view(np.uint32), ref.view(np.uint32))
