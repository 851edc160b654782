"""Lowering passes and memory planning on small hand-built graphs."""

import numpy as np
import pytest

from bnnkit.errors import BnnkitError
from bnnkit.graph import Graph, Op, Tensor
from bnnkit.lower import lower, pack_bits
from bnnkit.passes.binary import binary_rows
from bnnkit.memory import STRATEGIES, ArenaPlan, Buffer, check_plan, plan_arena
from bnnkit.tflite_reader import parse_tflite
from helpers import MODELS, needs_fashion


def t(i, name, shape, dtype="float32", data=None):
    return Tensor(i, name, shape, dtype, data)


def test_pack_bits_lce_order():
    neg = np.zeros(40, bool)
    neg[[0, 31, 32, 39]] = True
    assert pack_bits(neg).tolist() == [0x80000001, 0x81]


def test_binary_rows():
    w = np.array([[0.5, -0.5, 0.5], [-2.0, -2.0, 2.0]], np.float32)
    c, neg = binary_rows(w)
    assert c.tolist() == [0.5, 2.0] and neg.tolist() == [[False, True, False], [True, True, False]]
    assert binary_rows(np.array([[0.5, 0.25]], np.float32)) is None


def _binary_graph(weights):
    n_out, n_in = weights.shape
    tensors = [t(0, "x", (1, n_in)), t(1, "bits", (1, (n_in + 31) // 32), "int32"),
               t(2, "pm1", (1, n_in)), t(3, "w", weights.shape, data=weights),
               t(4, "b", (n_out,), data=np.zeros(n_out, np.float32)), t(5, "y", (1, n_out)),
               t(6, "ybits", (1, (n_out + 31) // 32), "int32"), t(7, "pm1b", (1, n_out)),
               t(8, "w2", (3, n_out), data=np.ones((3, n_out), np.float32)),
               t(9, "b2", (3,), data=np.zeros(3, np.float32)), t(10, "out", (1, 3))]
    fc = {"activation": "NONE", "weights_format": 0, "keep_num_dims": False}
    ops = [Op(0, "LceQuantize", [0], [1], {}, True), Op(1, "LceDequantize", [1], [2], {}, True),
           Op(2, "FULLY_CONNECTED", [2, 3, 4], [5], fc),
           Op(3, "LceQuantize", [5], [6], {}, True), Op(4, "LceDequantize", [6], [7], {}, True),
           Op(5, "FULLY_CONNECTED", [7, 8, 9], [10], fc)]
    return Graph(tensors, ops, [0], [10])


def test_binary_chain_lowered_to_thresholds():
    rng = np.random.default_rng(0)
    w = np.where(rng.random((5, 33)) < 0.5, -0.25, 0.25).astype(np.float32)
    low = lower(_binary_graph(w))
    kinds = [n.kind for n in low.nodes]
    assert kinds == ["quantize", "binary_dense", "binary_dense"]
    assert low.nodes[1].params["output"] == "bits" and low.nodes[2].params["output"] == "float"
    assert low.nodes[1].consts["weights"].shape == (5, 2)  # 33 wide -> 2 words per row


def test_non_binary_rows_stay_float():
    w = np.random.default_rng(1).normal(size=(5, 33)).astype(np.float32)
    kinds = [n.kind for n in lower(_binary_graph(w)).nodes]
    assert kinds == ["quantize", "dequantize", "fc", "quantize", "binary_dense"]


def test_unsupported_ops_reported_together():
    tensors = [t(0, "in", (1, 4)), t(1, "a", (1, 4)), t(2, "b", (1, 4)), t(3, "out", (1, 4))]
    ops = [Op(0, "LSH_PROJECTION", [0], [1]), Op(1, "Igamma", [1], [2], {}, True), Op(2, "SOFTMAX", [2], [3],
                                                                        {"beta": 1.0})]
    with pytest.raises(BnnkitError) as err:
        lower(Graph(tensors, ops, [0], [3]), "m.tflite")
    msg = str(err.value)
    assert msg.startswith("m.tflite: unsupported")
    assert "LSH_PROJECTION -> a" in msg and "Igamma -> b" in msg


def test_arena_shares_disjoint_lifetimes():
    plan = plan_arena([Buffer("in", 3136, -1, 0), Buffer("p1", 4704, 0, 1),
                       Buffer("p2", 3136, 1, 2), Buffer("bits", 100, 2, 3)])
    assert plan.size == 7840
    assert plan.offsets["in"] == plan.offsets["p2"]


def test_every_strategy_passes_the_validator_and_the_validator_catches_overlaps():
    """Random lifetimes and sizes: each strategy's plan is proved safe (no two
    live buffers share a byte); a plan that stacks everything at 0 is refused."""
    rng = np.random.default_rng(0)
    for trial in range(200):
        n = int(rng.integers(2, 12))
        firsts = rng.integers(-1, 10, n)
        bufs = [Buffer(f"b{i}", int(rng.integers(1, 500)), int(f), int(f + rng.integers(0, 4)))
                for i, f in enumerate(firsts)]
        for strategy in STRATEGIES:
            plan = plan_arena(bufs, strategy)
            assert plan.size >= max(b.nbytes for b in bufs)
        stacked = ArenaPlan({b.name: 0 for b in bufs}, 4096)
        overlapping = any(not (a.last < b.first or b.last < a.first)
                          for i, a in enumerate(bufs) for b in bufs[i + 1:])
        if overlapping:
            with pytest.raises(BnnkitError, match="overlaps"):
                check_plan(bufs, stacked)
        else:
            check_plan(bufs, stacked)


def test_runtime_filter_folded_to_constants():
    """XNORNet's scaled kernel, sign(w) * mean(|clip(w)|) computed by ops on a
    constant, becomes a constant filter; the conv then lowers like any other."""
    rng = np.random.default_rng(0)
    w = rng.normal(size=(4, 3, 3, 2)).astype(np.float32)  # OHWI
    tensors = [t(0, "x", (1, 5, 5, 2)), t(1, "w", w.shape, data=w), t(2, "clip", w.shape),
               t(3, "abs", w.shape), t(4, "axes", (3,), "int32", np.int32([1, 2, 3])),
               t(5, "mean", (4, 1, 1, 1)), t(6, "q", (4, 3, 3, 1), "int32"),
               t(7, "pm1", w.shape), t(8, "filter", w.shape),
               t(9, "bias", (4,), data=np.zeros(4, np.float32)), t(10, "y", (1, 3, 3, 4))]
    ops = [Op(0, "RELU_N1_TO_1", [1], [2]), Op(1, "ABS", [2], [3]),
           Op(2, "MEAN", [3, 4], [5], {"keep_dims": True}),
           Op(3, "LceQuantize", [2], [6], {}, True), Op(4, "LceDequantize", [6], [7], {}, True),
           Op(5, "MUL", [5, 7], [8], {"activation": "NONE"}),
           Op(6, "CONV_2D", [0, 8, 9], [10], {"padding": "VALID", "stride_w": 1, "stride_h": 1,
                                             "activation": "NONE", "dilation_w": 1,
                                             "dilation_h": 1})]
    low = lower(Graph(tensors, ops, [0], [10]))
    assert [n.kind for n in low.nodes] == ["conv2d"]
    clip = np.clip(w, -1, 1)
    scale = np.zeros(4, np.float32)
    for v in np.abs(clip).reshape(4, -1).T:  # LCE's MEAN: in order from 0, then divide
        scale = (scale + v).astype(np.float32)
    scale = scale / np.float32(18)
    expected = np.where(clip < 0, -1, 1).astype(np.float32) * scale[:, None, None, None]
    np.testing.assert_array_equal(low.nodes[0].consts["weights"], expected)


def test_mutated_flatbuffers_give_clear_errors_only():
    """Random byte changes in shipped models: lowering and planning either work or
    raise a BnnkitError (one line naming the file), never another exception."""
    import random

    from bnnkit.emit import build_program
    from bnnkit.tflite_reader import parse_tflite
    from helpers import MODELS

    rng = random.Random(0)
    for name in ("qconvnet.tflite", "lenet_bin3_t0_50_100_150_200_255.tflite"):
        base = (MODELS / name).read_bytes()
        for _ in range(150):
            buf = bytearray(base)
            for _ in range(rng.randint(1, 4)):
                buf[rng.randrange(8, min(len(buf), 20000))] = rng.randrange(256)
            try:
                build_program(lower(parse_tflite(bytes(buf), name), name))
            except BnnkitError as exc:
                assert str(exc).startswith(name) and "\n" not in str(exc)


def test_ambiguous_outputs_get_exact_popcount_ranges():
    """Per output: only the output whose boundary LCE's rounding can cross is
    ambiguous, and only at the popcounts near it; such a layer is still fused
    (thresholds + the exact float value for those popcounts)."""
    from bnnkit.passes.binary import thresholds_ambiguous

    mask, lo, hi = thresholds_ambiguous(3, np.float32([1.0, 1.0]), np.float32([0.5, 1.0]), False,
                                        ranges=True)
    assert mask.tolist() == [False, True] and (lo[1], hi[1]) == (2, 2)  # dot = -1: v = 0
    rng = np.random.default_rng(3)
    w = np.where(rng.random((5, 33)) < 0.5, -0.25, 0.25).astype(np.float32)
    g = _binary_graph(w)
    g.tensor(4).data[:] = np.float32([0.25, 0.3, 0.75, 0.1, -0.25])  # 0, 2, 4 on the boundary
    low = lower(g)
    bd = low.nodes[1]
    assert bd.kind == "binary_dense" and bd.params["output"] == "bits"
    assert bd.consts["exact_at"][:, 0].tolist() == [0, 2, 4]
    assert bd.consts["exact_val"][:, 1].tolist() == [0.25, 0.75, -0.25]


@needs_fashion
def test_lenets_bit_identical_with_lce_on_fashion():
    """The shipped binary LeNets on 300 Fashion-MNIST test images: the generated C
    gives LCE's outputs bit for bit, and lenet_bin3's 784 -> 120 binary layer
    (one ambiguous output) is fused to bits."""
    from bnnkit import data
    from bnnkit.simulate import compare_on_inputs

    images = data.load("fashion-mnist", "test", None).limit(300).images
    for name in ("lenet_bin3", "lenet_bin3_plus", "lenet_bin2"):
        c, ref, gen = compare_on_inputs(MODELS / f"{name}.tflite", images)
        np.testing.assert_array_equal(c.view(np.uint32), ref.view(np.uint32))
        if name == "lenet_bin3":
            low = lower(parse_tflite((MODELS / f"{name}.tflite").read_bytes(), name))
            first = next(n for n in low.nodes if n.kind == "binary_dense")
            assert first.params["n_in"] == 784 and first.params["output"] == "bits"
            assert len(first.consts["exact_at"]) >= 1
