"""The arena planner beyond one buffer per tensor: outputs written over inputs
that die at that step (elementwise ops, activations, LceQuantize, int8
requantize and ADD), residual ADDs computed by the binary conv before them,
and independent branches ordered for the smaller arena. Each network's C
gives its reference's bytes with those choices, and each choice is proved
safe by memory.check_in_place on every plan."""

import numpy as np
import pytest

from bnnkit.errors import BnnkitError
from bnnkit.memory import check_in_place


def _in_place_kinds(gen):
    """The kinds of the steps that write over an input, each checked to use
    that input's region of the arena in the generated C."""
    region = lambda t: gen.program.buffers[t].split("(")[0]  # noqa: E731  BNN_R<k>(member)
    for _, out, over in gen.program.in_place:
        assert region(out) == region(over)
    return {gen.low.nodes[i].kind for i, _, _ in gen.program.in_place}


def _arena_without_in_place(path):
    """The arena of the same network with one buffer per tensor."""
    from bnnkit.emit import _lower_and_plan, load_graph

    _, prog = _lower_and_plan(load_graph(path)[0], str(path), in_place=False)
    assert not prog.in_place
    return prog.arena_bytes


def test_float_and_binary_ops_in_place_give_lce_bytes(tmp_path):
    """A residual binary block (a binary conv whose float output takes the skip
    ADD), then a leaky ReLU, a batch norm's MUL/ADD, an ADD of two activations
    and a 1x1 binary conv's LceQuantize, each written over an input that dies
    there: the same bytes as LCE on 20 inputs, in a smaller arena."""
    import larq as lq

    from bnnkit.public_models import convert
    from bnnkit.simulate import compare_on_inputs
    from bnnkit.tfenv import keras

    inp = keras.Input((12, 12, 3))
    x = keras.layers.Conv2D(32, 3, padding="same")(inp)
    y = lq.layers.QuantConv2D(32, 3, padding="same", pad_values=1.0, input_quantizer="ste_sign",
                              kernel_quantizer="ste_sign", use_bias=False)(x)
    y = keras.layers.BatchNormalization(beta_initializer="random_normal",
                                        gamma_initializer="random_normal")(y)
    x = keras.layers.add([y, x])
    x = keras.layers.LeakyReLU(0.25)(x)
    x = keras.layers.BatchNormalization(beta_initializer="random_normal",
                                        gamma_initializer="random_normal")(x)
    z = keras.layers.Conv2D(32, 1)(x)
    x = keras.layers.add([x, z])
    x = lq.layers.QuantConv2D(16, 1, input_quantizer="ste_sign", kernel_quantizer="ste_sign",
                              use_bias=False)(x)  # its LceQuantize is the sum's last reader
    out = keras.layers.Dense(5)(keras.layers.GlobalAvgPool2D()(x))
    path = tmp_path / "residual.tflite"
    path.write_bytes(convert(keras.Model(inp, out)))
    x = np.random.default_rng(3).normal(size=(20, 12, 12, 3)).astype(np.float32)
    c, ref, gen = compare_on_inputs(path, x, build_dir=tmp_path)
    assert np.std(ref, axis=0).max() > 0
    np.testing.assert_array_equal(c, ref)
    kinds = [n.kind for n in gen.low.nodes]
    assert "add" in kinds and kinds.count("bconv2d") == 2
    fused = next(n for n in gen.low.nodes if n.kind == "bconv2d")
    assert len(fused.inputs) == 2, "the residual ADD was not fused into the binary conv"
    assert {"quantize", "bconv2d", "activation", "add"} <= _in_place_kinds(gen)
    assert gen.program.arena_bytes < _arena_without_in_place(path)


@pytest.mark.parametrize("reference", ["tflite", "lce"])
def test_int8_residual_requantize_and_add_in_place(reference, tmp_path):
    """An int8 residual block whose ADD the 3x3 conv computes (its 1x1
    shortcut run first, the sum written over it), int8 QUANTIZE (requantize),
    an ADD of two pools, then MobileNet's depthwise 3x3 (stride 1 and 2) and a
    1x1 conv that doubles the channels (its rows run backward), each written
    over its dying input: the bytes of TFLite's reference
    kernels, and of LCE's interpreter (whose ADD rounds blocks of 16 another
    way) on 20 inputs."""
    from test_int8_ops import _convert, _fake_quant as fq

    from bnnkit.simulate import compare_on_inputs
    from bnnkit.tfenv import keras

    inp = keras.Input((9, 9, 4))
    x = fq(-1, 1)(inp)
    a = fq(-2, 4)(keras.layers.Conv2D(8, 1)(x))  # the shortcut
    b = fq(-3, 2)(keras.layers.Conv2D(8, 3, padding="same")(x))
    s = fq(-4, 5)(keras.layers.Add()([a, b]))  # 648 values: 40 blocks of 16 and a tail
    p = fq(-1.5, 2)(keras.layers.MaxPooling2D(2)(s))  # QUANTIZE int8 -> int8 after the pool
    q = fq(-1, 1)(keras.layers.AveragePooling2D(2)(s))
    t = fq(-3, 3)(keras.layers.Add()([p, q]))
    d = fq(-2, 2)(keras.layers.DepthwiseConv2D(3, padding="same", activation="relu")(t))
    e = fq(-2, 3)(keras.layers.Conv2D(16, 1, activation="relu")(d))  # widens: rows backward
    f = fq(-2, 2)(keras.layers.DepthwiseConv2D(3, strides=2, padding="same")(e))
    out = keras.layers.Flatten()(fq(-2, 2)(keras.layers.Conv2D(4, 1)(f)))
    path = _convert(keras.Model(inp, out), tmp_path / "int8.tflite")
    x = np.random.default_rng(5).integers(-128, 128, (20, 9, 9, 4)).astype(np.int8)
    c, ref, gen = compare_on_inputs(path, x, build_dir=tmp_path, reference=reference)
    assert np.std(ref.astype(np.float64), axis=0).max() > 0
    np.testing.assert_array_equal(c, ref)
    fused = [n for n in gen.low.nodes if "residual_add" in n.params]
    assert len(fused) == 1 and fused[0].consts["weights"].shape[1:3] == (3, 3)
    assert [n.kind for n in gen.low.nodes].count("add_s8") == 1
    assert {"conv2d_s8", "add_s8", "requantize_s8", "depthwise_conv2d_s8"} <= _in_place_kinds(gen)
    in_place = {(gen.low.nodes[i].kind, i) for i, _, _ in gen.program.in_place}
    assert sum(kind == "depthwise_conv2d_s8" for kind, _ in in_place) == 2  # strides 1 and 2
    assert sum(kind == "conv2d_s8" for kind, _ in in_place) >= 2  # the residual and the 1x1


def test_binary_resnet8_fits_a_128_kib_cortex_m4(tmp_path):
    """MLPerf Tiny's ResNet-8 shape with binary residual blocks: fused residual
    ADDs, in place and the branch order bring the arena from 196,608 B (one
    buffer per tensor) under 114,688 B, so gen-firmware accepts it at the
    cortex-m4's default 128 KiB budget; LCE's bytes on the emulated M4."""
    from bnnkit import public_models as pm
    from bnnkit.emit import generate
    from bnnkit.simulate import compare_on_inputs
    from bnnkit.targets import get_target

    path = tmp_path / "binary_resnet8.tflite"
    path.write_bytes(pm.convert(pm.build("binary_resnet8")))
    gen = generate(path, "cortex-m4", tmp_path / "fw")  # the default budget is checked
    assert get_target("cortex-m4").budget(None, None)[1] == 128
    assert gen.program.arena_bytes <= 114_688
    assert not [n for n in gen.low.nodes if n.kind == "add"], "a residual ADD was not fused"
    unordered = generate(path, "host", tmp_path / "plain", disabled_passes=["fuse_residual_add"])
    assert unordered.program.arena_bytes > gen.program.arena_bytes
    c, ref, _ = compare_on_inputs(path, pm.random_inputs("binary_resnet8", 4, seed=1),
                                  "cortex-m4", build_dir=tmp_path / "m4")
    assert np.std(ref, axis=0).max() > 0
    np.testing.assert_array_equal(c, ref)


def test_low_peak_order_is_taken_only_when_smaller():
    """The branch order: the side that frees the block's input runs first, and
    a chain keeps its order."""
    from bnnkit.memory import low_peak_order

    chain = [(["x"], ["a"]), (["a"], ["b"]), (["b"], ["y"])]
    assert low_peak_order(chain, {"x": 4, "a": 400, "b": 4, "y": 4}) == [0, 1, 2]
    branches = [(["x"], ["p"]), (["p"], ["q"]), (["x"], ["s"]), (["q", "s"], ["y"])]
    sizes = {"x": 1000, "p": 500, "q": 600, "s": 10, "y": 10}
    assert low_peak_order(branches, sizes) == [2, 0, 1, 3]


@pytest.mark.parametrize("lives,over,allowed,message", [
    ({"x": (0, 2), "y": (1, 3)}, {"y": "x"}, {(1, "y", "x")}, "read until step 2"),
    ({"x": (0, 1), "y": (1, 3)}, {"y": "x"}, set(), "written over x at step 1"),
    ({"x": (0, 1), "y": (1, 2), "z": (2, 3)}, {"y": "x", "z": "y"}, {(1, "y", "x")},
     "z written over y"),
])
def test_the_validator_refuses_sharing_the_kernels_do_not_allow(lives, over, allowed, message):
    with pytest.raises(BnnkitError, match=message):
        check_in_place(lives, over, allowed)
    check_in_place(lives, {}, set())  # no sharing: nothing to prove
