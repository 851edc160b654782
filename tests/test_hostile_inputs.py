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


# ------------------------------------------------------------------ 9-11: bounded, one line

def _png_header_only(path, width, height):
    """A PNG whose header claims width x height (no pixel data: a bomb's shape)."""
    import zlib

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


def _npz_bomb(path, rows):
    """An .npz whose x claims ``rows`` 28x28 uint8 images of zeros (deflated: small)."""
    import io
    import zipfile

    import numpy as np

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "|u1", "fortran_order": False, "shape": (rows, 28, 28)})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("x.npy", "w", force_zip64=True) as f:
            f.write(header.getvalue())
            left, block = rows * 784, bytes(1 << 22)
            while left:
                f.write(block[:min(left, len(block))])
                left -= min(left, len(block))


def test_a_zip_bomb_npz_is_bounded(tmp_path):
    """9. 1.6 million images of zeros in a small file: refused from its header,
    or read only as far as --limit."""
    bomb = tmp_path / "bomb.npz"
    _npz_bomb(bomb, 1_600_000)
    assert bomb.stat().st_size < 3_000_000
    code, err = invoke("validate", MODELS / "lenet_bin3.tflite", "--data", bomb)
    assert code == 2 and "over 1,073,741,824" in err and "--limit" in err
    code, err = invoke("validate", MODELS / "lenet_bin3.tflite", "--data", bomb, "--limit", "3")
    assert code == 0, err


@pytest.mark.parametrize("arrays, says", [
    ({"x": 3.0}, "x is a single value"),
    ({"x": 3.0, "y": 1}, "x is a single value"),
    ({"x": ["a", "b"]}, "x is <U1 (integers or floats only)"),
    ({"x": ("complex64", (2, 28, 28))}, "x is complex64"),
    ({"x": ("datetime64[s]", (2, 28, 28))}, "x is datetime64[s]"),
    ({"x": ("uint8", (2, 28, 28)), "y": ("float32", (2,))}, "y must hold one integer class"),
])
def test_bad_npz_arrays_are_one_line(tmp_path, arrays, says):
    """11. 0-d, text, complex and datetime arrays are refused, not cast."""
    import numpy as np

    made = {k: np.zeros(v[1], v[0]) if isinstance(v, tuple) else np.array(v)
            for k, v in arrays.items()}
    data = tmp_path / "d.npz"
    np.savez(data, **made)
    code, err = invoke("validate", MODELS / "lenet_bin3.tflite", "--data", data)
    assert code == 2 and str(data) in err and says in err, err


def test_float64_outside_float32_is_one_line(tmp_path, recwarn):
    """12. float64 values beyond float32: the error, no RuntimeWarning."""
    import numpy as np

    model = tmp_path / "m.tflite"  # no sidecar: it takes its own float32 input
    model.write_bytes((MODELS / "lenet_bin3.tflite").read_bytes())
    data = tmp_path / "d.npz"
    np.savez(data, x=np.full((2, 28, 28, 1), 1e300))
    code, err = invoke("validate", model, "--data", data)
    assert code == 2 and "outside float32" in err
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_an_image_folder_with_a_fifo_and_a_bomb(tmp_path):
    """10, 11. A FIFO among the images is skipped (reading it would block); an
    image whose header claims 30000x30000 pixels is refused before decoding."""
    import os

    from helpers import run_cli

    d = tmp_path / "d"
    (d / "0").mkdir(parents=True)
    os.mkfifo(d / "0" / "x.png")
    code, err = invoke("validate", MODELS / "lenet_bin3.tflite", "--data", d)
    assert code == 2 and "no images" in err  # the FIFO is not an image file
    _png_header_only(d / "0" / "big.png", 30000, 30000)
    res = run_cli("validate", MODELS / "lenet_bin3.tflite", "--data", d, timeout=120)
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "big.png" in res.stderr
    assert "not decoded" in res.stderr or "decompression bomb" in res.stderr


@pytest.mark.parametrize("text, says", [
    ('{"preprocessing": {"kind": "none"}, "d": ' + "[" * 100000 + "]" * 100000 + "}",
     "nested too deeply"),
    ('{"preprocessing": {"kind": "none"}, "d": ' + "[" * 40 + "]" * 40 + "}",
     "nested over 32 levels"),
    ('{"preprocessing": {"kind": "scale", "scale": 1}, "description": "\\ud800"}',
     "not valid Unicode"),
])
def test_hostile_sidecars_are_one_line(tmp_path, text, says):
    """11. A sidecar nested 100,000 deep, or holding a lone surrogate."""
    model = tmp_path / "m.tflite"
    model.write_bytes((MODELS / "lenet_bin3.tflite").read_bytes())
    (tmp_path / "m.json").write_text(text)
    code, err = invoke("gen-firmware", model, "-o", tmp_path / "out")
    assert code == 2 and "m.json" in err and says in err, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("text, says", [
    ("name: &a [1, 2, 3]\ngroups: *a\n", "anchors, aliases"),
    ("groups: " + "[" * 20000 + "]" * 20000 + "\n", "nested over 32"),
    ("name: x\ngroups:\n  - name: g\n    grid: {epochs: [" + "9" * 5000 + "]}\n",
     "unreadable value"),
])
def test_hostile_sweep_specs_are_bounded(tmp_path, text, says):
    """9, 11. An alias bomb, 20,000 levels, a 5,000-digit integer: one line each."""
    spec = tmp_path / "s.yaml"
    spec.write_text(text)
    code, err = invoke("sweep", spec, "-o", tmp_path / "out")
    assert code == 2 and "s.yaml" in err and says in err, err


def test_a_timeout_too_large_and_a_constant_with_unknown_dims(tmp_path):
    """11. simulate --timeout 1e308; a constant whose shape holds -1 (the
    weights of lenet_bin1's first dense layer, (120, 784) made (-1, -1))."""
    from bnnkit.tflite_reader import _Table, _u32, read_tflite

    code, err = invoke("simulate", MODELS / "lenet_bin3.tflite", "--timeout", "1e308")
    assert code == 2 and "at most" in err
    buf = bytearray(LENET1.read_bytes())
    graph = read_tflite(LENET1)
    weights = next(t.index for t in graph.tensors if t.shape == (120, 784))
    sg = _Table(bytes(buf), _u32(bytes(buf), 0)).tables(2)[0]
    start, n = sg.tables(0)[weights].vector_span(0)
    assert n == 2
    struct.pack_into("<ii", buf, start, -1, -1)
    path = tmp_path / "m.tflite"
    path.write_bytes(bytes(buf))
    code, err = invoke("gen-firmware", path, "-o", tmp_path / "out")
    _one_line_refusal(code, err, path)
    assert "constant of shape (-1, -1)" in err


@pytest.mark.parametrize("name", ["..", ".", ".hidden", "-x"])
def test_a_sweep_name_cannot_leave_its_folder(tmp_path, name):
    """15. name: '..' would write into build/ instead of build/sweeps/NAME."""
    spec = tmp_path / "s.yaml"
    spec.write_text(f"name: '{name}'\ngroups:\n  - name: g\n    grid: {{epochs: [1]}}\n")
    code, err = invoke("sweep", spec)
    assert code == 2 and "s.yaml" in err and "starting with a letter or digit" in err, err


def test_class_names_from_a_file(tmp_path):
    """gen-firmware/validate --class-names: names for a model without a sidecar,
    reaching C only as string literals; a wrong count or a bad file is one line."""
    model = tmp_path / "m.tflite"
    model.write_bytes((MODELS / "lenet_bin3.tflite").read_bytes())
    names = tmp_path / "names.txt"
    names.write_text("".join(f'cls "{i}" */\n' for i in range(10)) + "\n\n")
    code, err = invoke("gen-firmware", model, "--class-names", names, "-o", tmp_path / "fw")
    assert code == 0, err
    source = (tmp_path / "fw" / "m" / "m.c").read_text()
    assert '"cls \\0420\\042 */",' in source  # a string literal, quotes escaped
    import subprocess

    subprocess.run(["make", "-s", "-C", str(tmp_path / "fw" / "app")], check=True)
    two = tmp_path / "two.txt"
    two.write_text("a\nb\n")
    code, err = invoke("gen-firmware", model, "--class-names", two, "-o", tmp_path / "fw2")
    assert code == 2 and f"{two}: 2 class names for 10 outputs" in err
    blank = tmp_path / "blank.txt"
    blank.write_text("a\n\nb\n")
    code, err = invoke("validate", model, "--data", "fashion-mnist", "--class-names", blank)
    assert code == 2 and f"{blank}: line 2" in err


@pytest.mark.parametrize("scale", ["x", {"a": 1}, [1, 2], 0.5])
def test_a_pass_through_input_takes_no_scale(tmp_path, scale):
    """make fuzz (public networks, whose sidecars pass their input through) found
    a scale beside kind 'none' reaching the C as a traceback: one line now."""
    import json

    model = tmp_path / "m.tflite"
    model.write_bytes((MODELS / "lenet_bin3.tflite").read_bytes())
    (tmp_path / "m.json").write_text(json.dumps({"preprocessing": {"kind": "none",
                                                                   "scale": scale}}))
    code, err = invoke("gen-firmware", model, "-o", tmp_path / "out")
    assert code == 2 and "m.json: preprocessing kind 'none' takes no scale" in err
