"""bnn_concat.c (CONCATENATION) against ops/concatenation.py's reference, the
lowering's checks, and end-to-end models against LCE's interpreter (bit-exact:
the kernel only copies)."""

import ctypes
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from bnnkit.ops import Node
from bnnkit.ops._datamove import strip_batch
from bnnkit.ops.concatenation import Concatenation
from kernels.kernel_lib import ptr

OP = Concatenation()


def run_concat(lib, n, low, arrays, bits=False):
    """The C kernel called as the emitter calls it (outer, chunks from the op)."""
    outer, chunks = OP.layout(n, low)
    ctype = np.uint32 if bits else np.float32
    srcs = [np.ascontiguousarray(a, ctype) for a in arrays]
    out = np.full(outer * sum(chunks) + 1, 0x7FC0DEAD if bits else np.nan, ctype)
    sentinel = out[-1:].copy()
    ins = (ctypes.c_void_p * len(srcs))(*[s.ctypes.data for s in srcs])
    ch = np.array(chunks, np.int32)
    if bits:
        lib.bnn_concat_u32(ins, ptr(ch), len(srcs), outer, ptr(out))
    else:
        lib.bnn_concat_f32(ins, ptr(ch), len(srcs), outer, int(n.params["relu"]), ptr(out))
    assert out[-1:].view(np.uint32) == sentinel.view(np.uint32)  # nothing written past the end
    return out[:-1]


@st.composite
def concat_case(draw):
    rank = draw(st.integers(1, 4))
    base = [draw(st.integers(1, 5)) for _ in range(rank)]
    if rank > 1:
        base[0] = 1  # batch
    axis = draw(st.integers(-rank, rank - 1))
    ax = axis % rank
    n_in = draw(st.integers(1, 5))
    shapes = []
    for _ in range(n_in):
        s = list(base)
        s[ax] = draw(st.integers(1, 6))
        shapes.append(tuple(s))
    const = [draw(st.booleans()) for _ in range(n_in)]
    const[draw(st.integers(0, n_in - 1))] = False  # at least one activation
    return shapes, ax, const, draw(st.booleans()), draw(st.booleans()), draw(st.integers(0, 2**31))


@settings(max_examples=80, deadline=None)
@given(case=concat_case())
def test_concat_matches_reference(lib, case):
    shapes, axis, const, relu, bits, seed = case
    rng = np.random.default_rng(seed)
    arrays = [rng.integers(0, 2**32, s, dtype=np.uint32) if bits
              else rng.normal(size=s).astype(np.float32) for s in shapes]
    if not bits and arrays[0].size:
        arrays[0].reshape(-1)[0] = -0.0
    order, inputs, consts, low_shapes = [], [], {}, {}
    for k, (a, c) in enumerate(zip(arrays, const)):
        if c:
            consts[f"c{k}"] = a
            order.append(f"c{k}")
        else:
            t = 10 + k
            low_shapes[t] = strip_batch(a.shape)
            inputs.append(t)
            order.append(len(inputs) - 1)
    out_full = list(shapes[0])
    out_full[axis] = sum(s[axis] for s in shapes)
    low_shapes[99] = strip_batch(out_full)
    n = Node("concat", inputs, [99], {"axis": axis, "rank": len(shapes[0]),
                                      "relu": relu and not bits, "bits": bits, "order": order},
             consts)
    low = SimpleNamespace(shapes=low_shapes)
    assert OP.output_shape(n, low) == low_shapes[99]
    expected = OP.reference(n, [arrays[k] for k, c in enumerate(const) if not c], low)
    assert expected.shape == low_shapes[99]
    got = run_concat(lib, n, low, arrays, bits)
    view = np.uint32 if bits else np.float32
    np.testing.assert_array_equal(got.view(np.uint32),
                                  np.ascontiguousarray(expected, view).reshape(-1).view(np.uint32))
    if relu and not bits:
        assert not (got < 0).any()


def test_concat_relu_keeps_negative_zero_and_nan(lib):
    x = np.array([-1.0, -0.0, np.nan, 2.0], np.float32)
    n = Node("concat", [0, 1], [2], {"axis": 0, "rank": 1, "relu": True, "bits": False,
                                    "order": [0, 1]})
    low = SimpleNamespace(shapes={0: (4,), 1: (4,), 2: (8,)})
    got = run_concat(lib, n, low, [x, x])
    ref = OP.reference(n, [x, x], low)
    np.testing.assert_array_equal(got.view(np.uint32), ref.view(np.uint32))
    assert np.signbit(got[1]) and np.isnan(got[2]) and got[0] == 0


# ------------------------------------------------------------------ lowering

def _graph(in_shapes, out_shape, axis, dtype="float32", producers=None):
    """A hand-made graph: one float input, optional LceQuantize producers of
    int32 tensors, then one CONCATENATION."""
    from bnnkit.graph import Graph, Op, Tensor

    tensors, ops = [], []
    if dtype == "int32":
        for k, (s, ch) in enumerate(zip(in_shapes, producers)):
            tensors.append(Tensor(len(tensors), f"x{k}", s[:-1] + (ch,), "float32"))
            tensors.append(Tensor(len(tensors), f"b{k}", s, "int32"))
            ops.append(Op(len(ops), "LceQuantize", [len(tensors) - 2], [len(tensors) - 1],
                          custom=True))
        ins = [2 * k + 1 for k in range(len(in_shapes))]
        graph_inputs = [0]
    else:
        for k, s in enumerate(in_shapes):
            tensors.append(Tensor(len(tensors), f"x{k}", s, "float32"))
        ins = list(range(len(in_shapes)))
        graph_inputs = [0]
    tensors.append(Tensor(len(tensors), "out", out_shape, dtype))
    ops.append(Op(len(ops), "CONCATENATION", ins, [len(tensors) - 1],
                  {"axis": axis, "activation": "NONE"}))
    return Graph(tensors, ops, graph_inputs, [len(tensors) - 1])


def _problems(graph):
    from bnnkit.lower import LowerContext

    ctx = LowerContext(graph)
    for t in graph.tensors:
        if t.data is None:
            ctx.activation(t.index)
    node = None
    for op in graph.ops:
        ctx.op, ctx.where = op, op.type
        if op.type == "CONCATENATION":
            node = OP.lower(ctx, op)
    return node, ctx.problems


def test_lower_refuses_a_wrong_output_shape():
    node, problems = _problems(_graph([(1, 4, 4, 8), (1, 4, 4, 3)], (1, 4, 4, 12), -1))
    assert node is None and "inputs give (1, 4, 4, 11)" in problems[0]
    node, problems = _problems(_graph([(1, 4, 4, 8), (1, 4, 5, 3)], (1, 4, 4, 11), 3))
    assert node is None and "does not concatenate" in problems[0]


def test_lower_bits_along_channels_needs_multiples_of_32():
    node, problems = _problems(_graph([(1, 4, 4, 2), (1, 4, 4, 1)], (1, 4, 4, 3), 3, "int32",
                                      [64, 32]))
    assert not problems and node.params["bits"] and node.params["axis"] == 3
    node, problems = _problems(_graph([(1, 4, 4, 2), (1, 4, 4, 1)], (1, 4, 4, 3), -1, "int32",
                                      [64, 20]))
    assert node is None and "has 20 channels" in problems[0] and "multiple of 32" in problems[0]
    # along another axis a word copy is a concatenation whatever the channels
    node, problems = _problems(_graph([(1, 4, 4, 1), (1, 2, 4, 1)], (1, 6, 4, 1), 1, "int32",
                                      [20, 20]))
    assert not problems and node.params["bits"] and node.params["axis"] == 1


def test_lower_refuses_mixed_types_and_activations():
    from bnnkit.graph import Graph, Op, Tensor

    g = Graph([Tensor(0, "x", (1, 4), "float32"), Tensor(1, "y", (1, 4), "int32"),
               Tensor(2, "o", (1, 8), "float32")],
              [Op(0, "CONCATENATION", [0, 1], [2], {"axis": 1, "activation": "NONE"})], [0], [2])
    assert "float32, or bit-packed int32 throughout" in _problems(g)[1][0]
    g.ops[0].options["activation"] = "TANH"
    assert "fused activation TANH" in _problems(g)[1][0]


# ------------------------------------------------------------------ end to end

def _compare(model, x, tmp_path, name):
    from bnnkit.convert import convert_model
    from bnnkit.simulate import compare_on_inputs

    path = tmp_path / f"{name}.tflite"
    path.write_bytes(convert_model(model))
    c, ref, gen = compare_on_inputs(path, x, build_dir=tmp_path)
    calls = "\n".join(s for _, stmts in gen.program.calls for s in stmts)
    np.testing.assert_array_equal(c.view(np.uint32), ref.view(np.uint32))
    return calls


def test_densenet_and_meliusnet_concatenations_bit_exact_with_lce(tmp_path):
    """BinaryDenseNet's growth (8 x (1,16,16,8) -> (1,16,16,64)), MeliusNet's
    (1,4,4,160) + (1,4,4,64), a constant input, and axes 1, 2 and -1."""
    from bnnkit.tfenv import keras, tf

    keras.utils.set_random_seed(3)
    inp = keras.Input((16, 16, 8))
    grown = [inp] + [keras.layers.Conv2D(8, 1)(inp) for _ in range(7)]
    x = keras.layers.Concatenate()(grown)  # (16, 16, 64)
    pooled = keras.layers.MaxPooling2D(4)(x)  # (4, 4, 64)
    wide = keras.layers.Conv2D(160, 1)(pooled)
    y = keras.layers.Concatenate(axis=-1)([wide, pooled])  # (4, 4, 224)
    y = keras.layers.Concatenate(axis=1)([y, keras.layers.Conv2D(224, 1)(y), y])  # (12, 4, 224)
    y = keras.layers.Concatenate(axis=2)([y, keras.layers.Conv2D(224, 1)(y)])  # (12, 8, 224)
    const = tf.constant(np.linspace(-1, 1, 12 * 8 * 3, dtype=np.float32).reshape(1, 12, 8, 3))
    y = keras.layers.Lambda(lambda t: tf.concat([const, t, const], -1))(y)
    x_in = np.random.default_rng(0).normal(size=(20, 16, 16, 8)).astype(np.float32)
    calls = _compare(keras.Model(inp, y), x_in, tmp_path, "dense")
    assert calls.count("bnn_concat_f32(") == 5 and "concat_c_" in calls  # the constant input


def test_relu_fused_concatenation(tmp_path):
    """TFLite's kernel refuses a fused activation on CONCATENATION (LCE's
    interpreter fails to prepare such a file); bnnkit computes what the schema
    says: checked against LCE's concatenation of the same model without the
    activation, followed by max(x, 0) in numpy."""
    import flatbuffers

    from bnnkit.build import make
    from bnnkit.convert import convert_model
    from bnnkit.emit import generate
    from bnnkit.reference import lce_predict
    from bnnkit.simulate import run_firmware
    from bnnkit.tfenv import keras
    from tensorflow.lite.python import schema_py_generated as schema

    keras.utils.set_random_seed(0)
    inp = keras.Input((4, 4, 3))
    model = keras.Model(inp, keras.layers.Concatenate()([keras.layers.Conv2D(2, 1)(inp), inp]))
    plain = convert_model(model)
    m = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(plain, 0))
    patched = 0
    for op in m.subgraphs[0].operators:
        code = m.operatorCodes[op.opcodeIndex]
        if schema.BuiltinOperator.CONCATENATION in (code.builtinCode,
                                                    code.deprecatedBuiltinCode):
            op.builtinOptions.fusedActivationFunction = schema.ActivationFunctionType.RELU
            patched += 1
    assert patched == 1
    builder = flatbuffers.Builder(0)
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    path = tmp_path / "relu.tflite"
    path.write_bytes(bytes(builder.Output()))

    x = np.random.default_rng(0).normal(size=(20, 4, 4, 3)).astype(np.float32)
    with pytest.raises(RuntimeError):
        lce_predict(path.read_bytes(), x)
    gen = generate(path, "host", tmp_path / "relu-host")
    _, scores, _ = run_firmware(gen, make(gen.out_dir, gen.target), x, 120)
    expected = np.maximum(lce_predict(plain, x).reshape(len(x), -1), np.float32(0))
    np.testing.assert_array_equal(scores.view(np.uint32), expected.view(np.uint32))
