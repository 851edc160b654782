"""Float SOFTMAX (bnn_softmax_f32.c) against the op module's reference (Eigen's
pexp_float on 8-wide blocks, glibc's expf on the tail, Eigen's packet sum,
e * (1 / sum), flush-to-zero), bit for bit; and the generated C against LCE's
interpreter, bit for bit."""

import ctypes

import numpy as np
from hypothesis import given, settings, strategies as st

from bnnkit.ops.softmax import glibc_expf, softmax_reference
from kernels.kernel_lib import f32, ptr

F32 = np.float32


def assert_bits_equal(a, b):
    np.testing.assert_array_equal(np.asarray(a, F32).view(np.uint32),
                                  np.asarray(b, F32).view(np.uint32))


def run_softmax(lib, x, beta):
    n = len(x)
    out = np.full(n + 8, np.nan, F32)
    lib.bnn_softmax_f32(ptr(np.ascontiguousarray(x, F32)), n, f32(beta), ptr(out))
    assert np.isnan(out[n:]).all()
    return out[:n]


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 80), beta=st.sampled_from([1.0, 0.5, 1.7]),
       scale=st.sampled_from([0.1, 1.0, 10.0, 40.0]), seed=st.integers(0, 2**31))
def test_softmax_kernel_matches_reference(lib, n, beta, scale, seed):
    x = (np.random.default_rng(seed).normal(size=n) * scale).astype(F32)
    got = run_softmax(lib, x, beta)
    assert_bits_equal(got, softmax_reference(x, beta))
    e = np.exp((x.astype(np.float64) - x.max()) * F32(beta))
    np.testing.assert_allclose(got, e / e.sum(), rtol=1e-5, atol=1e-30)


def test_glibc_expf_reference():
    """The tail exp against this host's C library (glibc 2.36 on AVX2+FMA)."""
    libm = ctypes.CDLL("libm.so.6")
    libm.expf.restype, libm.expf.argtypes = ctypes.c_float, [ctypes.c_float]
    xs = -np.random.default_rng(0).random(3000).astype(F32) * F32(104)
    for v in xs:
        assert F32(glibc_expf(v)).view(np.uint32) == F32(libm.expf(float(v))).view(np.uint32)


def test_softmax_end_to_end_bit_exact_with_lce(tmp_path):
    from bnnkit.convert import convert_model
    from bnnkit.simulate import compare_on_inputs
    from bnnkit.tfenv import keras

    for i, n in enumerate((2, 10, 17, 64, 100)):
        inp = keras.layers.Input((n,))
        model = keras.Model(inp, keras.layers.Softmax()(inp))
        path = tmp_path / f"softmax_{n}.tflite"
        path.write_bytes(convert_model(model))
        rng = np.random.default_rng(i)
        xs = rng.normal(size=(20, n)) * rng.choice([0.1, 1, 10, 40], (20, 1))
        c, ref, gen = compare_on_inputs(path, xs.astype(F32), build_dir=tmp_path)
        assert "bnn_softmax_f32(" in "\n".join(s for _, st_ in gen.program.calls for s in st_)
        assert_bits_equal(c, ref)
