"""Hostile model files and options (issue 27, items 6-8): no operand of the
wrong size reaches a kernel, no library name replaces a C header, no number
becomes something else in float32."""

import struct

import pytest

from helpers import MODELS
from test_hostile import invoke

LENET1 = MODELS / "lenet_bin1.tflite"


def operand_position(buf: bytes, op: int, slot: int) -> int:
    """Byte offset of operator ``op``'s input ``slot`` (an int32 tensor index)."""
    from bnnkit.tflite_reader import _Table, _u32

    sg = _Table(buf, _u32(buf, 0)).tables(2)[0]
    start, n = sg.tables(3)[op].vector_span(1)
    assert slot < n
    return start + 4 * slot


def _one_line_refusal(code, err, path):
    assert code == 2 and err.count("\n") == 1 and str(path) in err, err


def test_the_issues_out_of_bounds_bias_is_refused(tmp_path):
    """6. lenet_bin1 with operator 5's bias operand (the int32 at byte 1836)
    pointing at an 84-value tensor for 120 outputs: the kernel would read past it."""
    buf = bytearray(LENET1.read_bytes())
    assert operand_position(bytes(buf), 5, 2) == 1836 and struct.unpack_from("<i", buf, 1836) == (7,)
    struct.pack_into("<i", buf, 1836, 6)
    path = tmp_path / "m.tflite"
    path.write_bytes(bytes(buf))
    code, err = invoke("gen-firmware", path, "-o", tmp_path / "out")
    _one_line_refusal(code, err, path)
    assert "bias must be a constant float32 tensor of 120 values" in err
    assert not (tmp_path / "out").exists()


def test_every_bias_of_another_size_is_refused(tmp_path):
    """Each FULLY_CONNECTED and CONV_2D bias of lenet_bin1 pointed at every other
    one-dimensional constant of another size: refused, one line, nothing written."""
    from bnnkit.tflite_reader import read_tflite

    base = LENET1.read_bytes()
    graph = read_tflite(LENET1)
    vectors = [t.index for t in graph.tensors if t.data is not None and t.data.ndim == 1]
    cases = 0
    for op in graph.ops:
        if op.type not in ("FULLY_CONNECTED", "CONV_2D") or len(op.inputs) < 3:
            continue
        size = graph.tensor(op.inputs[2]).data.size
        for t in vectors:
            if graph.tensor(t).data.size == size:
                continue
            buf = bytearray(base)
            struct.pack_into("<i", buf, operand_position(base, op.index, 2), t)
            path = tmp_path / f"op{op.index}_t{t}.tflite"
            path.write_bytes(bytes(buf))
            code, err = invoke("gen-firmware", path, "-o", tmp_path / "out")
            _one_line_refusal(code, err, path)
            assert not (tmp_path / "out").exists()
            cases += 1
    assert cases >= 20


@pytest.mark.parametrize("name", ["stdio", "math", "string", "stdint", "stdlib", "Math"])
def test_a_library_cannot_take_a_c_headers_name(tmp_path, name):
    """7. --name stdio would put stdio.h first on the include path."""
    code, err = invoke("gen-firmware", MODELS / "lenet_bin3.tflite", "--name", name,
                       "-o", tmp_path / "out")
    assert code == 2 and f"--name {name}: the name of a C header" in err
    assert not (tmp_path / "out").exists()


def test_a_model_file_named_like_a_header_builds(tmp_path):
    """7. A model file stdio.tflite: its library is m_stdio, and it builds."""
    from bnnkit.build import make
    from bnnkit.emit import generate

    model = tmp_path / "stdio.tflite"
    model.write_bytes((MODELS / "lenet_bin3.tflite").read_bytes())
    gen = generate(model, "host", tmp_path / "out")
    assert gen.name == "m_stdio" and make(tmp_path / "out", gen.target).is_file()


@pytest.mark.parametrize("options, says", [
    (["--scale", "1e39"], "--scale 1e+39 is outside float32"),
    (["--offset", "-1e39"], "--offset -1e+39 is outside float32"),
    (["--scale", "1e-46"], "--scale 1e-46 is 0 in float32"),
    (["--offset", "1e-50"], "--offset 1e-50 is 0 in float32"),
])
def test_options_are_checked_in_float32(tmp_path, options, says):
    """8. Numbers are checked as the float32 the C computes with."""
    code, err = invoke("gen-firmware", MODELS / "lenet_bin3.tflite", "--input", "uint8",
                       *options, "-o", tmp_path / "out")
    assert code == 2 and says in err, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("scale, says", [(1e-50, "is 0 in float32"),
                                         (1e39, "is outside float32"),
                                         (10 ** 400, "is outside float32")])
def test_a_sidecar_scale_is_checked_in_float32(tmp_path, scale, says):
    import json

    model = tmp_path / "m.tflite"
    model.write_bytes((MODELS / "lenet_bin3.tflite").read_bytes())
    (tmp_path / "m.json").write_text(json.dumps({"preprocessing": {"kind": "scale",
                                                                   "scale": scale}}))
    code, err = invoke("gen-firmware", model, "-o", tmp_path / "out")
    assert code == 2 and "m.json: preprocessing scale" in err and says in err, err
