"""Float FULLY_CONNECTED (bnn_fc_f32.c) against the op module's reference
(TFLite's CustomGemv: 4 lanes of multiply-then-add, (l0+l1)+(l2+l3), + bias;
ruy's in-order FMAs from the bias when n_in < 4 or n_out < 4; TFLite's clamp),
bit for bit; and the generated C against LCE's interpreter, bit for bit."""

import numpy as np
from hypothesis import given, settings, strategies as st

from bnnkit.ops._numeric import fma_f32
from bnnkit.ops.fully_connected import fc_reference
from kernels.kernel_lib import ptr

F32 = np.float32


def assert_bits_equal(a, b):
    np.testing.assert_array_equal(np.asarray(a, F32).view(np.uint32),
                                  np.asarray(b, F32).view(np.uint32))


def run_fc(lib, x, w, b, relu):
    n_out, n_in = w.shape
    out = np.full(n_out + 8, np.nan, F32)  # NaN guard: writes stay inside the output
    lib.bnn_fc_f32(ptr(np.ascontiguousarray(x, F32)), n_in, ptr(np.ascontiguousarray(w, F32)),
                   None if b is None else ptr(b), n_out, int(relu), ptr(out))
    assert np.isnan(out[n_out:]).all()
    return out[:n_out]


FC_CASES = dict(n_in=st.integers(1, 70), n_out=st.integers(1, 20), relu=st.booleans(),
                bias=st.booleans(), scale=st.sampled_from([1.0, 1e-3, 1e3, 1e19]),
                seed=st.integers(0, 2**31))


@settings(max_examples=120, deadline=None)
@given(**FC_CASES)
def test_fc_kernel_matches_reference(lib, n_in, n_out, relu, bias, scale, seed):
    check_fc(lib, n_in, n_out, relu, bias, scale, seed)


@settings(max_examples=60, deadline=None)
@given(**FC_CASES)
def test_fc_cortex_m_blocking(lib_small, n_in, n_out, relu, bias, scale, seed):
    """Four outputs at once (the Cortex-M form): the same bits."""
    check_fc(lib_small, n_in, n_out, relu, bias, scale, seed)


def check_fc(lib, n_in, n_out, relu, bias, scale, seed):
    rng = np.random.default_rng(seed)
    x = (rng.normal(size=n_in) * scale).astype(F32)
    x = np.where(rng.random(n_in) < 0.1, F32(0), x)
    w = rng.normal(size=(n_out, n_in)).astype(F32)
    w = np.where(rng.random(w.shape) < 0.1, F32(-0.0), w)
    b = rng.normal(size=n_out).astype(F32) if bias else None
    assert_bits_equal(run_fc(lib, x, w, b, relu), fc_reference(x, w, b, relu))


def test_fc_reference_orders():
    """The reference against plain loops of the two orders (guards the numpy)."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=11).astype(F32)
    w = rng.normal(size=(5, 11)).astype(F32)
    b = rng.normal(size=5).astype(F32)
    ref = fc_reference(x, w, b, False)
    for j in range(5):
        lanes = [F32(0)] * 4
        for k in range(8):
            lanes[k % 4] = F32(lanes[k % 4] + F32(w[j, k] * x[k]))
        lanes[0] = F32(lanes[0] + F32(w[j, 7] * F32(0)))  # back = 1: lane 0 re-reads w[7]
        for lane, k in ((1, 8), (2, 9), (3, 10)):
            lanes[lane] = F32(lanes[lane] + F32(w[j, k] * x[k]))
        assert ref[j] == F32(F32(F32(lanes[0] + lanes[1]) + F32(lanes[2] + lanes[3])) + b[j])
    ref = fc_reference(x, w[:3], b[:3], False)
    for j in range(3):
        acc = b[j]
        for k in range(11):
            acc = fma_f32(x[k], w[j, k], acc)
        assert ref[j] == acc


def test_fc_clamp(lib):
    """Overflow clamps to +-FLT_MAX, ReLU gives +0.0 for -0.0, no-bias keeps -0.0."""
    big = np.full(8, 3e38, F32)
    w = np.ones((4, 8), F32)
    w[1] *= -1
    out = run_fc(lib, big, w, None, False)
    assert_bits_equal(out, fc_reference(big, w, None, False))
    assert out[0] == np.finfo(F32).max and out[1] == -np.finfo(F32).max
    x = np.zeros(8, F32)
    w = np.full((4, 8), -1.0, F32)
    assert_bits_equal(run_fc(lib, x, w, None, True), np.zeros(4, F32))
    assert_bits_equal(run_fc(lib, x, w, None, False), fc_reference(x, w, None, False))


def _dense_models():
    from bnnkit.tfenv import keras

    for n_in, n_out, bias, act in ((1, 5, True, None), (3, 7, True, "relu"), (4, 4, False, None),
                                   (7, 10, True, None), (9, 3, True, "relu"), (37, 1, False, None),
                                   (130, 130, True, "relu"), (784, 10, True, None)):
        inp = keras.layers.Input((n_in,))
        out = keras.layers.Dense(n_out, use_bias=bias, activation=act,
                                 bias_initializer="random_normal")(inp)
        yield f"fc_{n_in}_{n_out}", keras.Model(inp, out), n_in


def test_fc_end_to_end_bit_exact_with_lce(tmp_path):
    from bnnkit.convert import convert_model
    from bnnkit.simulate import compare_on_inputs

    for i, (name, model, n_in) in enumerate(_dense_models()):
        path = tmp_path / f"{name}.tflite"
        path.write_bytes(convert_model(model))
        rng = np.random.default_rng(i)
        xs = rng.normal(size=(20, n_in)) * rng.choice([1e-3, 1, 1e3], (20, 1))
        c, ref, gen = compare_on_inputs(path, xs.astype(F32), build_dir=tmp_path)
        assert "bnn_fc_f32(" in "\n".join(s for _, st_ in gen.program.calls for s in st_)
        assert_bits_equal(c, ref)
