"""bnn_split.c (SPLIT, SPLIT_V) against ops/split.py's reference, the
lowering's checks, the arena planner's lifetimes for an op with several
outputs, and end-to-end models against LCE's interpreter (bit-exact: the
kernel only copies)."""

import ctypes
import re
from types import SimpleNamespace

import numpy as np
from hypothesis import given, settings, strategies as st

from bnnkit.ops import Node
from bnnkit.ops._datamove import strip_batch
from bnnkit.ops.split import Split
from kernels.kernel_lib import ptr

OP = Split()


@st.composite
def split_case(draw):
    rank = draw(st.integers(1, 4))
    shape = [draw(st.integers(1, 5)) for _ in range(rank)]
    if rank > 1:
        shape[0] = 1
    axis = draw(st.integers(0, rank - 1))
    sizes = draw(st.lists(st.integers(1, 5), min_size=1, max_size=5))
    shape[axis] = sum(sizes)
    return tuple(shape), axis, sizes, draw(st.integers(0, 2**31))


@settings(max_examples=80, deadline=None)
@given(case=split_case())
def test_split_matches_reference(lib, case):
    shape, axis, sizes, seed = case
    x = np.random.default_rng(seed).normal(size=shape).astype(np.float32)
    outs = list(range(1, len(sizes) + 1))
    n = Node("split", [0], outs, {"axis": axis, "rank": len(shape), "sizes": sizes})
    low = SimpleNamespace(shapes={0: strip_batch(shape)})
    expected = OP.reference(n, [x.reshape(strip_batch(shape))], low)
    assert [e.shape for e in expected] == OP.output_shapes(n, low)
    assert OP.output_shape(n, low) == [e.shape for e in expected]
    outer, chunks = OP.layout(n, low)
    # one block with a guard word after every output: nothing written outside its part
    block = np.full(sum(outer * c + 1 for c in chunks), np.nan, np.float32)
    starts = np.cumsum([0] + [outer * c + 1 for c in chunks])[:-1]
    ptrs = (ctypes.c_void_p * len(chunks))(*[block.ctypes.data + 4 * int(s) for s in starts])
    lib.bnn_split_f32(ptr(x), outer, ptr(np.array(chunks, np.int32)), len(chunks), ptrs)
    for s, c, e in zip(starts, chunks, expected):
        np.testing.assert_array_equal(block[s:s + outer * c], e.reshape(-1))
        assert np.isnan(block[s + outer * c])


# ------------------------------------------------------------------ lowering

def _lower_one(op_type, x_shape, consts, out_shapes, options):
    """Lower one hand-made SPLIT / SPLIT_V op; returns (node, problems)."""
    from bnnkit.graph import Graph, Op, Tensor
    from bnnkit.lower import LowerContext

    tensors = [Tensor(0, "x", x_shape, "float32")]
    for name, value in consts:
        tensors.append(Tensor(len(tensors), name, np.shape(value), "int32",
                              np.asarray(value, np.int32)))
    outs = []
    for s in out_shapes:
        outs.append(len(tensors))
        tensors.append(Tensor(len(tensors), f"o{len(outs)}", s, "float32"))
    ins = [1, 0] if op_type == "SPLIT" else [0, 1, 2]
    op = Op(0, op_type, ins, outs, options)
    ctx = LowerContext(Graph(tensors, [op], [0], outs[:1]))
    ctx.activation(0)
    ctx.op, ctx.where = op, op_type
    return OP.lower(ctx, op), ctx.problems


def test_lower_split_and_split_v():
    node, problems = _lower_one("SPLIT", (1, 4, 4, 6), [("axis", -1)],
                                [(1, 4, 4, 3)] * 2, {"num_splits": 2})
    assert not problems and node.params == {"axis": 3, "rank": 4, "sizes": [3, 3]}
    assert node.outputs == [2, 3]
    node, problems = _lower_one("SPLIT_V", (1, 4, 4, 6), [("sizes", [1, -1]), ("axis", 1)],
                                [(1, 1, 4, 6), (1, 3, 4, 6)], {"num_splits": 2})
    assert not problems and node.params["sizes"] == [1, 3] and node.params["axis"] == 1


def test_lower_refuses_bad_splits():
    _, problems = _lower_one("SPLIT", (1, 4, 4, 6), [("axis", 3)], [(1, 4, 4, 2)] * 4,
                             {"num_splits": 4})
    assert "4 splits (4 outputs) of a dimension of 6" in problems[0]
    _, problems = _lower_one("SPLIT_V", (1, 4, 4, 6), [("sizes", [2, 2]), ("axis", 3)],
                             [(1, 4, 4, 2)] * 2, {"num_splits": 2})
    assert "do not split a dimension of 6" in problems[0]
    _, problems = _lower_one("SPLIT", (1, 4, 4, 6), [("axis", 3)], [(1, 4, 4, 3), (1, 4, 3, 3)],
                             {"num_splits": 2})
    assert "inputs give (1, 4, 4, 3)" in problems[0]
    _, problems = _lower_one("SPLIT", (1, 4, 4, 6), [("axis", 4)], [(1, 4, 4, 3)] * 2,
                             {"num_splits": 2})
    assert "axis 4 of a rank-4 tensor" in problems[0]


# ------------------------------------------------------------------ end to end

def _overlapping_lifetimes_share_no_bytes(gen_low, prog):
    """Every two tensors alive at the same step live in disjoint arena bytes,
    except an output the planner wrote over an input dying at that step (a
    kernel that permits it: memory.check_in_place proves those)."""
    low = gen_low
    assert all(n.kind != "reshape" for n in low.nodes)  # no aliases to follow
    first, last = {low.input: -1}, {}
    for i, n in enumerate(low.nodes):
        for t in n.outputs:
            first.setdefault(t, i)
        for t in n.inputs:
            last[t] = i
    offsets = {name: offset for name, offset, _ in prog.regions}
    spans = {}
    for t, expr in prog.buffers.items():
        m = re.match(r"(BNN_R\d+)\(", expr)
        if m:
            size = int(np.prod(low.shapes[t]))
            start = offsets[m.group(1)]
            spans[t] = (start, start + size, first[t], max(last.get(t, first[t]), first[t]))
    items = sorted(spans.items())
    over = {(out, x) for _, out, x in prog.in_place}
    for a, (s0, e0, f0, l0) in items:
        for b, (s1, e1, f1, l1) in items:
            if (a, b) in over or (b, a) in over:
                continue
            if a < b and not (l0 < f1 or l1 < f0):
                assert e0 <= s1 or e1 <= s0, f"tensors {a} and {b} share arena bytes"
    return spans


def test_split_branches_bit_exact_with_lce_and_outputs_kept_alive(tmp_path):
    """tf.split feeding two branches that meet again (added, then concatenated),
    MeliusNet's channel split, SPLIT_V with sizes; the second output of the
    first split is read only at the very end, after convs whose buffers the
    planner must keep off it."""
    from bnnkit.convert import convert_model
    from bnnkit.emit import build_program
    from bnnkit.lower import lower
    from bnnkit.simulate import compare_on_inputs
    from bnnkit.tfenv import keras, tf
    from bnnkit.tflite_reader import read_tflite

    keras.utils.set_random_seed(5)
    inp = keras.Input((8, 8, 16))
    a, b = keras.layers.Lambda(lambda t: tf.split(t, 2, axis=-1))(inp)
    a = keras.layers.Conv2D(32, 3, padding="same")(a)
    a = keras.layers.Conv2D(8, 3, padding="same")(a)
    p, q = keras.layers.Lambda(lambda t: tf.split(t, 2, axis=-1))(a)
    s = keras.layers.Add()([keras.layers.Conv2D(4, 1)(p), q])
    u, v, w = keras.layers.Lambda(lambda t: tf.split(t, [3, 4, 1], axis=2))(s)
    y = keras.layers.Concatenate(axis=2)([w, v, u])
    y = keras.layers.Concatenate()([y, b])  # b: the first split's second output
    model = keras.Model(inp, y)
    path = tmp_path / "split.tflite"
    path.write_bytes(convert_model(model))

    graph = read_tflite(path)
    assert [op.type for op in graph.ops].count("SPLIT") == 2
    assert "SPLIT_V" in [op.type for op in graph.ops]
    low = lower(graph, str(path))
    prog = build_program(low)
    spans = _overlapping_lifetimes_share_no_bytes(low, prog)
    split0 = next(n for n in low.nodes if n.kind == "split")
    assert all(t in spans for t in split0.outputs)  # both outputs have arena buffers
    b_t = split0.outputs[1]
    assert spans[b_t][3] == len(low.nodes) - 1  # alive until the last step

    x = np.random.default_rng(1).normal(size=(20, 8, 8, 16)).astype(np.float32)
    c, ref, _ = compare_on_inputs(path, x, build_dir=tmp_path)
    np.testing.assert_array_equal(c.view(np.uint32), ref.view(np.uint32))
