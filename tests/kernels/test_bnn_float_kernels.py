"""Float kernels (conv2d with fused pool, maxpool, elementwise)
against numpy references that round as LCE's interpreter does: one float32
rounding per op, sums in order; the conv from its bias with one fused
multiply-add per tap, as TFLite's optimized conv."""

import ctypes

import numpy as np
from hypothesis import given, settings, strategies as st

from kernels.kernel_lib import fma_f32, ptr
from bnnkit.kernel_structs import ctypes_struct

OC_BLOCK = 8


ConvParams = ctypes_struct("bnn_conv2d_params")


PoolParams = ctypes_struct("bnn_maxpool_params")


def conv_reference(x, w, b, stride, pad, conv_hw, relu):
    """TFLite's optimized float conv as LCE runs it: from the bias, one fused
    multiply-add per tap in (ky, kx, ic) order, zero padding."""
    h, wd, ic = x.shape
    oc, kh, kw, _ = w.shape
    out = np.zeros(conv_hw + (oc,), np.float32)
    for oy in range(conv_hw[0]):
        for ox in range(conv_hw[1]):
            acc = b.copy()
            for ky in range(kh):
                y = oy * stride - pad[0] + ky
                for kx in range(kw):
                    xx = ox * stride - pad[1] + kx
                    inside = 0 <= y < h and 0 <= xx < wd
                    for c in range(ic):
                        acc = fma_f32(x[y, xx, c] if inside else 0.0, w[:, ky, kx, c], acc)
            out[oy, ox] = np.maximum(acc, 0) if relu else acc
    return out


def run_conv(lib, x, hwio, bias, p, out):
    """bnn_conv2d_f32 with a scratch buffer of the size the kernel asks for."""
    scratch = np.full(lib.bnn_conv2d_f32_scratch_floats(ctypes.byref(p)), np.nan, np.float32)
    lib.bnn_conv2d_f32(ctypes.byref(p), ptr(x), ptr(hwio), ptr(bias), ptr(scratch), ptr(out))


def padded_weights(w, b):
    """OHWI filter and bias -> HWIO with O (and the bias) zero-padded to OC_BLOCK."""
    oc, k_h, k_w, ic = w.shape
    padded = -(-oc // OC_BLOCK) * OC_BLOCK
    hwio = np.zeros((k_h, k_w, ic, padded), np.float32)
    hwio[..., :oc] = w.transpose(1, 2, 3, 0)
    bias = np.zeros(padded, np.float32)
    bias[:oc] = b
    return hwio, bias


def test_fma_reference_rounds_once():
    # a * b = 2^-24 - 2^-60, so a * b + c lies just below the float32 tie between
    # c (odd) and c + ulp (even): fmaf gives c; a float64 sum rounded again to
    # float32 lands on the tie and wrongly picks the even c + ulp
    a, b = np.float32(2**-12 * (1 + 2**-18)), np.float32(2**-12 * (1 - 2**-18))
    c = np.float32(1 + 2**-23)
    assert fma_f32(a, b, c) == c
    assert np.float32(np.float64(a) * np.float64(b) + np.float64(c)) == np.float32(1 + 2**-22)


def test_fma_reference_matches_libm():
    libm = ctypes.CDLL("libm.so.6")
    libm.fmaf.restype = ctypes.c_float
    libm.fmaf.argtypes = [ctypes.c_float] * 3
    rng = np.random.default_rng(7)
    a, b, c = (rng.normal(scale=s, size=3000).astype(np.float32) for s in (1.0, 1.0, 1e-3))
    want = np.array([libm.fmaf(*v) for v in zip(a.tolist(), b.tolist(), c.tolist())], np.float32)
    np.testing.assert_array_equal(fma_f32(a, b, c), want)


CONV_CASES = dict(h=st.integers(2, 9), ic=st.integers(1, 4),
                  oc=st.sampled_from([1, 3, 6, 8, 11, 12, 16, 18, 32]), k=st.integers(1, 4),
                  stride=st.integers(1, 2), same=st.booleans(), pool=st.sampled_from([1, 2, 3]),
                  relu=st.booleans(), seed=st.integers(0, 2**31))


@settings(max_examples=40, deadline=None)
@given(**CONV_CASES)
def test_conv2d(lib, h, ic, oc, k, stride, same, pool, relu, seed):
    check_conv2d(lib, h, ic, oc, k, stride, same, pool, relu, seed, small_core=False)


@settings(max_examples=40, deadline=None)
@given(**CONV_CASES)
def test_conv2d_cortex_m_blocking(lib_small, h, ic, oc, k, stride, same, pool, relu, seed):
    """The Cortex-M form (4 positions x 4 or 6 channels in named registers, pool
    and ReLU in registers, the weights in the generator's channel blocks) gives
    the same bits: only the blocking differs. (The VFP assembly of the M4/M7/M33
    runs the same loops; the emulator tests compare it with LCE.)"""
    check_conv2d(lib_small, h, ic, oc, k, stride, same, pool, relu, seed, small_core=True)


def conv_size(h, k, stride, same):
    """Output size and top/left padding of a square conv, as TFLite pads."""
    if same:
        conv = -(-h // stride)
        return conv, max((conv - 1) * stride + k - h, 0) // 2
    return (h - k) // stride + 1, 0


def check_conv2d(lib, h, ic, oc, k, stride, same, pool, relu, seed, small_core):
    from bnnkit.ops.conv2d import channel_blocks

    if not same and k > h:
        return
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(h, h, ic)).astype(np.float32)
    w = rng.normal(size=(oc, k, k, ic)).astype(np.float32)
    b = rng.normal(size=oc).astype(np.float32)
    conv, pad = conv_size(h, k, stride, same)
    if conv < pool:
        return
    ref = conv_reference(x, w, b, stride, (pad, pad), (conv, conv), relu)
    out_hw = conv // pool
    ref = ref[:out_hw * pool, :out_hw * pool].reshape(out_hw, pool, out_hw, pool, oc).max(axis=(1, 3))
    hwio, bias = padded_weights(w, b)
    if small_core:
        hwio = channel_blocks(hwio, oc, (pool, pool))
    p = ConvParams(h, h, ic, oc, k, k, stride, stride, pad, pad, conv, conv, pool, pool, int(relu))
    out = np.zeros((out_hw, out_hw, oc), np.float32)
    run_conv(lib, x, hwio, bias, p, out)
    np.testing.assert_array_equal(out, ref)


def test_conv2d_scratch_size_matches_generator(lib):
    from bnnkit.ops.conv2d import GROUP as CONV_GROUP

    # (kernel, stride, pool) -> conv rows x columns of one group of CONV_GROUP positions
    for k, stride, pool, rows, cols in [(5, 1, 2, 2, 4), (3, 2, 1, 1, 8), (3, 1, 3, 3, 3),
                                        (1, 1, 1, 1, 8)]:
        assert CONV_GROUP == 8
        p = ConvParams(9, 9, 3, 4, k, k, stride, stride, k // 2, k // 2, 9, 9, pool, pool, 0)
        want = (k + (rows - 1) * stride) * (k + (cols - 1) * stride) * 3
        assert lib.bnn_conv2d_f32_scratch_floats(ctypes.byref(p)) == want


def test_conv2d_scratch_of_cortex_m_fits_the_generators(lib, lib_small):
    """bnnkit plans one scratch size for every target: the 8-position groups'
    need bounds the Cortex-M form's 4-position groups."""
    for k in (1, 3, 5):
        for stride in (1, 2):
            for pool_h, pool_w in ((1, 1), (2, 2), (3, 3), (1, 2), (2, 1), (4, 4)):
                p = ConvParams(12, 12, 3, 4, k, k, stride, stride, k // 2, k // 2, 12, 12,
                               pool_h, pool_w, 0)
                small = lib_small.bnn_conv2d_f32_scratch_floats(ctypes.byref(p))
                assert 0 < small <= lib.bnn_conv2d_f32_scratch_floats(ctypes.byref(p))


@settings(max_examples=25, deadline=None)
@given(h=st.integers(1, 9), c=st.integers(1, 5), f=st.integers(1, 3), stride=st.integers(1, 3),
       same=st.booleans(), seed=st.integers(0, 2**31))
def test_maxpool(lib, h, c, f, stride, same, seed):
    if not same and f > h:
        return
    x = np.random.default_rng(seed).normal(size=(h, h, c)).astype(np.float32)
    if same:
        out_hw = -(-h // stride)
        pad = max((out_hw - 1) * stride + f - h, 0) // 2
    else:
        out_hw, pad = (h - f) // stride + 1, 0
    ref = np.full((out_hw, out_hw, c), -np.inf, np.float32)
    for oy in range(out_hw):
        for ox in range(out_hw):
            y0, x0 = oy * stride - pad, ox * stride - pad
            win = x[max(y0, 0):y0 + f, max(x0, 0):x0 + f]
            ref[oy, ox] = win.reshape(-1, c).max(axis=0)
    out = np.zeros_like(ref)
    p = PoolParams(h, h, c, f, f, stride, stride, pad, pad, out_hw, out_hw, 0)
    lib.bnn_maxpool_f32(ctypes.byref(p), ptr(x), ptr(out))
    np.testing.assert_array_equal(out, ref)


@settings(max_examples=25, deadline=None)
@given(h=st.integers(1, 7), c=st.integers(1, 6), f=st.integers(1, 4), stride=st.integers(1, 3),
       same=st.booleans(), relu=st.booleans(), seed=st.integers(0, 2**31))
def test_maxpool_first_tap_rule(lib, h, c, f, stride, same, relu, seed):
    """The kernel's documented rule on NaN and signed zeros: each output starts
    from the window's first inside tap and a later tap replaces it only when
    strictly greater, in (fy, fx) order; then ReLU (v < 0 -> 0)."""
    if not same and f > h:
        return
    rng = np.random.default_rng(seed)
    x = rng.choice(np.float32([np.nan, -0.0, 0.0, -1.5, 2.5, -np.inf, np.inf]), (h, h, c))
    if same:
        out_hw = -(-h // stride)
        pad = max((out_hw - 1) * stride + f - h, 0) // 2
    else:
        out_hw, pad = (h - f) // stride + 1, 0
    want = np.zeros((out_hw, out_hw, c), np.float32)
    for oy in range(out_hw):
        for ox in range(out_hw):
            taps = [x[y, xx] for y in range(oy * stride - pad, oy * stride - pad + f)
                    for xx in range(ox * stride - pad, ox * stride - pad + f)
                    if 0 <= y < h and 0 <= xx < h]
            for ci in range(c):
                best = taps[0][ci]
                for t in taps[1:]:
                    best = t[ci] if t[ci] > best else best
                want[oy, ox, ci] = np.float32(0) if relu and best < 0 else best
    out = np.full_like(want, 7.0)
    p = PoolParams(h, h, c, f, f, stride, stride, pad, pad, out_hw, out_hw, int(relu))
    lib.bnn_maxpool_f32(ctypes.byref(p), ptr(x), ptr(out))
    np.testing.assert_array_equal(out.view(np.uint32), want.view(np.uint32))


def test_elementwise(lib):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 6)).astype(np.float32)
    c = rng.normal(size=6).astype(np.float32)
    out = np.zeros_like(x)
    lib.bnn_mul_const_f32(ptr(x), x.size, ptr(c), 6, 0, ptr(out))
    np.testing.assert_array_equal(out, x * c)
    lib.bnn_add_const_f32(ptr(x), x.size, ptr(c), 6, 1, ptr(out))
    np.testing.assert_array_equal(out, np.maximum(x + c, 0))
    y = rng.normal(size=(4, 6)).astype(np.float32)
    lib.bnn_binary_op_f32(ptr(x), ptr(y), x.size, 1, 0, ptr(out))
    np.testing.assert_array_equal(out, x * y)


@settings(max_examples=20, deadline=None)
@given(h=st.integers(3, 9), planes=st.integers(1, 7), oc=st.integers(1, 11),
       k=st.integers(1, 5), pool=st.sampled_from([1, 2]), seed=st.integers(0, 2**31))
def test_conv2d_planes_equals_float_conv_of_01_image(lib, h, planes, oc, k, pool, seed):
    """bnn_conv2d_planes_f32 on bit-planes == bnn_conv2d_f32 on the 0/1 floats."""
    from bnnkit.lower import pack_bits

    rng = np.random.default_rng(seed)
    bits = rng.random((h, h, planes)) < 0.4
    w = rng.normal(size=(oc, k, k, planes)).astype(np.float32)
    b = rng.normal(size=oc).astype(np.float32)
    conv = h
    pad = max(conv - 1 + k - h, 0) // 2
    if conv < pool:
        return
    hwio, bias = padded_weights(w, b)
    p = ConvParams(h, h, planes, oc, k, k, 1, 1, pad, pad, conv, conv, pool, pool, 1)
    out_hw = conv // pool
    want = np.zeros((out_hw, out_hw, oc), np.float32)
    run_conv(lib, bits.astype(np.float32), hwio, bias, p, want)
    got = np.zeros_like(want)
    plane_bits = pack_bits(bits.reshape(h * h, planes).T)
    lib.bnn_conv2d_planes_f32(ctypes.byref(p), ptr(plane_bits), ptr(hwio), ptr(bias), ptr(got))
    np.testing.assert_array_equal(got, want)


@settings(max_examples=30, deadline=None)
@given(h=st.integers(3, 9), channels=st.integers(1, 7), oc=st.integers(1, 11),
       k=st.integers(1, 5), stride=st.integers(1, 2), same=st.booleans(),
       pool=st.sampled_from([1, 2]), seed=st.integers(0, 2**31))
def test_conv2d_index_equals_float_conv_of_one_hot_image(lib, h, channels, oc, k, stride, same,
                                                         pool, seed):
    """bnn_threshold_encode_index + bnn_conv2d_index_f32 == the float encoding
    (0/1 per channel, at most one per pixel) + bnn_conv2d_f32, bit for bit."""
    if not same and k > h:
        return
    rng = np.random.default_rng(seed)
    cuts = np.sort(rng.choice(np.arange(1, 255), channels + 1, replace=False)).astype(np.float32)
    lower, upper = cuts[:-1].copy(), cuts[1:].copy()
    pixels = rng.integers(0, 256, (h, h)).astype(np.float32)  # some in no interval
    onehot = ((pixels[..., None] >= lower) & (pixels[..., None] < upper)).astype(np.float32)
    w = rng.normal(size=(oc, k, k, channels)).astype(np.float32)
    b = rng.normal(size=oc).astype(np.float32)
    conv, pad = conv_size(h, k, stride, same)
    if conv < pool:
        return
    hwio, bias = padded_weights(w, b)
    p = ConvParams(h, h, channels, oc, k, k, stride, stride, pad, pad, conv, conv, pool, pool, 1)
    out_hw = conv // pool
    want = np.zeros((out_hw, out_hw, oc), np.float32)
    run_conv(lib, onehot, hwio, bias, p, want)
    map_h = map_w = (conv - 1) * stride + k
    index = np.full(-(-map_h * map_w // 4), 0xAAAAAAAA, np.uint32)
    lib.bnn_threshold_encode_index(ptr(pixels), h, h, ptr(lower), ptr(upper), channels, pad, pad,
                                   map_h, map_w, ptr(index))
    rows = np.zeros((k, k, channels + 1, hwio.shape[3]), np.float32)
    rows[:, :, :channels] = hwio
    got = np.zeros_like(want)
    lib.bnn_conv2d_index_f32(ctypes.byref(p), ptr(index), map_w, ptr(rows), ptr(bias), ptr(got))
    np.testing.assert_array_equal(got, want)


def test_single_position_convs_sum_like_lce(tmp_path):
    """A conv with one output position is a matrix-vector product in TFLite (four
    partial sums, not the conv's fused multiply-adds): XNORNet's 6x6 conv on a
    6x6 map, a 3x3 SAME conv on a 1x1 map, a 1x1 conv at the end of a network."""
    from bnnkit.convert import convert_model
    from bnnkit.simulate import compare_on_inputs
    from bnnkit.tfenv import keras

    for ic, oc, k, hw in ((256, 64, 6, 6), (64, 8, 3, 1), (128, 256, 1, 1), (64, 3, 1, 1)):
        inp = keras.Input((hw, hw, ic))
        conv = keras.layers.Conv2D(oc, k, padding="valid" if k == hw else "same",
                                   bias_initializer="random_normal")
        path = tmp_path / f"conv{ic}_{k}.tflite"
        path.write_bytes(convert_model(keras.Model(inp, conv(inp))))
        x = np.random.default_rng(ic).normal(size=(10, hw, hw, ic)).astype(np.float32)
        c, ref, _ = compare_on_inputs(path, x, build_dir=tmp_path)
        np.testing.assert_array_equal(c, ref)
