"""Hostile and clumsy input (issue 10): every bad command line, sidecar and model
ends in one line naming the file or option and the problem, exit 2, with nothing
written; interrupted runs clean up; the generated C stays within its buffers.

The mutated-model fuzzer lives in tests/fuzz.py (`make fuzz` runs thousands of
cases); a bounded run of it is the last test here."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import MODELS, needs_fashion

LENET = MODELS / "lenet_bin3.tflite"


def invoke(*args):
    """The bnnkit CLI in-process; returns (exit code, stderr), asserting that it
    ended without a traceback and, on failure, in one 'bnnkit: error:' line."""
    from click.testing import CliRunner

    from bnnkit.cli import main

    res = CliRunner().invoke(main, [str(a) for a in args])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exc_info
    if res.exit_code:
        lines = res.stderr.strip().split("\n")
        assert len(lines) == 1 and lines[0].startswith("bnnkit: error: "), res.stderr
    return res.exit_code, res.stderr


def _model_with_sidecar(tmp_path, sidecar: str, stem="net") -> Path:
    model = tmp_path / f"{stem}.tflite"
    model.write_bytes(LENET.read_bytes())
    (tmp_path / f"{stem}.json").write_text(sidecar)
    return model


# ------------------------------------------------------------------ options

BAD_OPTIONS = [
    # (arguments, what the one line must say)
    (["train", "lenet_bin3", "--limit", "0"], "--limit"),
    (["train", "lenet_bin3", "--limit", "-5"], "--limit"),
    (["train", "lenet_bin3", "--epochs", "0"], "--epochs"),
    (["train", "lenet_bin3", "--batch-size", "-1"], "--batch-size"),
    (["train", "lenet_bin3", "--seed", "-1"], "--seed"),
    (["train", "lenet_bin3", "--thresholds", ""], "at least two values"),
    (["train", "lenet_bin3", "--thresholds", "inf,255"], "must be integers"),
    (["train", "lenet_bin3", "--thresholds", "0,300"], "0..255"),
    (["train", "lenet_bin3", "--thresholds", "0,x"], "not a comma-separated list"),
    (["train", "lenet_bin3", "--thresholds", "0,100,50,255"], "increasing"),
    (["train", "nosuch"], "'nosuch' is not one of"),
    (["gen-firmware", LENET, "--flash-kib", "0"], "--flash-kib"),
    (["gen-firmware", LENET, "--ram-kib", "-1"], "--ram-kib"),
    (["gen-firmware", LENET, "--input", "uint8", "--scale", "nan"], "not a finite number"),
    (["gen-firmware", LENET, "--input", "uint8", "--scale", "inf"], "not a finite number"),
    (["gen-firmware", LENET, "--input", "uint8", "--scale", "0"], "must not be 0"),
    (["gen-firmware", LENET, "--input", "uint8", "--offset", "-nan"], "not a finite number"),
    (["gen-firmware", LENET, "--scale", "2"], "need --input uint8"),
    (["gen-firmware", LENET, "--target", "pdp11"], "'pdp11' is not one of"),
    (["simulate", LENET, "--limit", "0"], "--limit"),
    (["simulate", LENET, "--limit", "-1"], "--limit"),
    (["simulate", LENET, "--timeout", "-1"], "--timeout"),
    (["simulate", LENET, "--timeout", "0"], "--timeout"),
    (["simulate", LENET, "--timeout", "nan"], "--timeout"),
    (["simulate", LENET, "--dataset", "cifar"], "'cifar' is not one of"),
    (["report", "--limit", "0"], "--limit"),
    (["report", "--timeout", "-3"], "--timeout"),
    (["inspect"], "Missing argument"),
    (["gen-firmware", LENET, "--no-such-option"], "No such option"),
]


@pytest.mark.parametrize("args,says", BAD_OPTIONS, ids=lambda a: " ".join(map(str, a))
                         if isinstance(a, list) else None)
def test_bad_options_are_one_line_exit_2(args, says, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may be written, not even default outputs
    code, err = invoke(*args)
    assert code == 2 and says in err, err
    assert list(tmp_path.iterdir()) == []


def test_unwritable_outputs_are_refused_before_any_work(tmp_path):
    """An output under a file (so even root cannot create it) or a folder where a
    file is wanted: refused at once, before training, conversion or a full run."""
    afile = tmp_path / "afile"
    afile.write_text("x")
    under = afile / "out"
    cases = [
        (["train", "lenet_bin3", "-o", under / "m.h5"], "is a file, not a folder"),
        (["train", "lenet_bin3", "-o", tmp_path], "is a directory"),
        (["convert", MODELS / "lenet_bin3.h5", "-o", under / "m.tflite"], "not a folder"),
        (["gen-firmware", LENET, "-o", under], "not a folder"),
        (["gen-firmware", LENET, "-o", afile], "is a file"),
        (["simulate", LENET, "--json", under / "r.json"], "--json"),
        (["simulate", LENET, "--json", tmp_path], "is a directory"),
        (["simulate", LENET, "--build-dir", afile], "--build-dir"),
        (["report", "--docs", afile], "--docs"),
    ]
    for args, says in cases:
        start = time.time()
        code, err = invoke(*args)
        assert code == 2 and says in err, (args, err)
        assert time.time() - start < 20, f"{args}: refused only after work"
    assert afile.read_text() == "x"


# ------------------------------------------------------------------ sidecars

BAD_SIDECARS = [
    ({"preprocessing": {"kind": "scale"}}, "scale must be a finite number"),
    ({"preprocessing": {"kind": "scale", "scale": "0.5"}}, "scale must be a finite number"),
    ('{"preprocessing": {"kind": "scale", "scale": NaN}}', "NaN is not a JSON number"),
    ({"preprocessing": {"kind": "scale", "scale": 1e300}}, "outside float32"),
    ({"preprocessing": {"kind": "scale", "scale": 1, "offset": True}}, "offset"),
    ({"preprocessing": {"kind": "rgb"}}, "kind 'scale' or 'none'"),
    ({"preprocessing": {"kind": "none", "input_dtype": "uint8"}}, "input_dtype"),
    ({"preprocessing": {"kind": "none", "description": 5}}, "description must be a string"),
    ({"preprocessing": {"kind": "none"}, "class_names": "abc"}, "'class_names' must be a list"),
    ({"preprocessing": {"kind": "none"}, "class_names": ["a"] * 11}, "11 class names for 10"),
    ({"preprocessing": {"kind": "none"}, "class_names": [1] * 10}, "list of strings"),
    ({"preprocessing": {"kind": "none"}, "keras_test_accuracy": "high"}, "keras_test_accuracy"),
    ({"preprocessing": {"kind": "none"}, "dataset": ["x"]}, "'dataset' must be a string"),
    ({"class_names": []}, "no 'preprocessing' entry"),
    ("[1, 2]", "must be a JSON object"),
    ('{"preprocessing": ', "corrupt sidecar"),
    ("", "corrupt sidecar"),
]


@pytest.mark.parametrize("sidecar,says", BAD_SIDECARS, ids=lambda s: None)
def test_bad_sidecars_name_the_file(sidecar, says, tmp_path):
    text = sidecar if isinstance(sidecar, str) else json.dumps(sidecar)
    model = _model_with_sidecar(tmp_path, text)
    code, err = invoke("gen-firmware", model, "-o", tmp_path / "out")
    assert code == 2 and says in err and str(tmp_path / "net.json") in err, err
    assert not (tmp_path / "out").exists()


def test_sidecar_text_reaches_c_only_as_literals(tmp_path):
    """*/, a #define, a backslash-newline and quotes in the description and the
    class names: the project builds under -Werror, runs, and none of it is code."""
    meta = json.loads((MODELS / "lenet_bin3.json").read_text())
    meta["preprocessing"]["description"] = "*/ __builtin_trap(); /*\\\n#define x 1"
    meta["class_names"] = ['"', "\\", "*/ int y; /*", "??/", "a\nb", "\u00e9\u202e", "", " ",
                           "$(shell false)", "%s%n"]
    model = _model_with_sidecar(tmp_path, json.dumps(meta))
    code, err = invoke("gen-firmware", model, "-o", tmp_path / "p")
    assert code == 0, err
    from fuzz import MARK, injected

    assert MARK not in (tmp_path / "p" / "net" / "net.c").read_text()
    assert injected(tmp_path / "p") == []
    build = subprocess.run(["make", "-s", "-C", str(tmp_path / "p" / "app")], capture_output=True,
                           text=True)
    assert build.returncode == 0, build.stderr
    images = tmp_path / "images.bin"
    images.write_bytes(bytes(784))
    run = subprocess.run([str(tmp_path / "p" / "app" / "model"), str(images), str(tmp_path / "o.txt")],
                         capture_output=True, text=True)
    assert run.returncode == 0 and (tmp_path / "o.txt").read_text().startswith(("0 ", "1 ", "2 ",
                                                                                "3 ", "4 ", "5 ",
                                                                                "6 ", "7 ", "8 ",
                                                                                "9 "))


# ------------------------------------------------------------------ output folders

def test_a_folder_bnnkit_did_not_create_needs_force(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("mine")
    (out / "Makefile").write_text("all:\n")
    code, err = invoke("gen-firmware", LENET, "-o", out)
    assert code == 2 and "--force" in err and "did not write" in err
    assert sorted(p.name for p in out.iterdir()) == ["Makefile", "thesis.tex"]
    code, err = invoke("gen-firmware", LENET, "-o", out, "--force")
    assert code == 0, err
    assert (out / "thesis.tex").read_text() == "mine" and (out / "lenet_bin3" / "lenet_bin3.h").is_file()
    assert (out / "Makefile").read_text() == "all:\n"  # not bnnkit's name: untouched
    # now it is bnnkit's project: regenerating needs no --force and keeps thesis.tex
    code, err = invoke("gen-firmware", MODELS / "lenet_float.tflite", "-o", out,
                       "--name", "lenet_bin3")
    assert code == 0 and (out / "thesis.tex").read_text() == "mine"
    # lenet_bin3's kernel, bnnkit's: removed
    assert not (out / "lenet_bin3" / "bnn_binary_dense.c").exists()
    # another name: a second library beside the first (several models, one firmware)
    code, err = invoke("gen-firmware", MODELS / "lenet_float.tflite", "-o", out)
    assert code == 0 and (out / "lenet_bin3" / "lenet_bin3.h").is_file()
    assert sorted(p.name for p in out.iterdir()) == [".bnnkit-files", "Makefile", "app",
                                                     "lenet_bin3", "lenet_float", "thesis.tex"]


def test_a_user_folder_where_bnnkit_writes_a_file_is_refused(tmp_path):
    out = tmp_path / "p"
    assert invoke("gen-firmware", LENET, "-o", out)[0] == 0
    source = out / "lenet_bin3" / "lenet_bin3.c"
    source.unlink()
    source.mkdir()
    (source / "keep").write_text("k")
    code, err = invoke("gen-firmware", LENET, "-o", out)
    assert code == 2 and "lenet_bin3/lenet_bin3.c is a folder" in err
    assert (source / "keep").read_text() == "k"


def test_a_link_where_bnnkit_writes_a_folder_is_refused(tmp_path):
    out, elsewhere = tmp_path / "p", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "app").symlink_to(elsewhere)
    code, err = invoke("gen-firmware", LENET, "-o", out, "--force")
    assert code == 2 and "app is a symbolic link" in err
    assert list(elsewhere.iterdir()) == []


# ------------------------------------------------------------------ models

def test_bad_model_files(tmp_path):
    empty = tmp_path / "empty.tflite"
    empty.write_bytes(b"")
    text = tmp_path / "text.tflite"
    text.write_text("hello")
    cut = tmp_path / "cut.tflite"
    cut.write_bytes(LENET.read_bytes()[:5000])
    h5 = tmp_path / "bad.h5"
    h5.write_text("not hdf5")
    for path, says in ((tmp_path / "none.tflite", "no such file"),
                       (empty, "TFL3|neither an HDF5"), (text, "TFL3|neither an HDF5"),
                       (cut, "corrupt"), (h5, "bad.h5")):
        for cmd in (["gen-firmware", path, "-o", tmp_path / "o"], ["inspect", path]):
            code, err = invoke(*cmd)
            assert code == 2 and str(path) in err and re.search(says, err), (cmd, err)
    assert not (tmp_path / "o").exists()


def test_a_wrong_dimension_is_refused_not_written_past(tmp_path):
    """The issue's example: a binary dense output of 4 words stored as 3 (one
    dimension changed by one in the flatbuffer) gave C that wrote past its
    buffer. Now shape inference from the input refuses the file."""
    import struct

    from fuzz import shape_position
    from bnnkit.tflite_reader import parse_tflite

    base = LENET.read_bytes()
    graph = parse_tflite(base, "lenet")
    t = next(t for t in graph.tensors if t.shape == (1, 4) and t.dtype == "int32")
    pos = shape_position(base, t.index) + 4  # the 4 of [1, 4]
    bad = bytearray(base)
    bad[pos:pos + 4] = struct.pack("<i", 3)
    assert parse_tflite(bytes(bad), "m").tensors[t.index].shape == (1, 3)
    model = tmp_path / "m.tflite"
    model.write_bytes(bytes(bad))
    code, err = invoke("gen-firmware", model, "-o", tmp_path / "o")
    assert code == 2 and str(model) in err and "(3,)" in err and "(4,)" in err, err
    assert not (tmp_path / "o").exists()


def test_pool_strides_of_zero_or_negative_are_refused():
    from bnnkit.graph import Graph, Op, Tensor
    from bnnkit.lower import lower
    from bnnkit.errors import BnnkitError

    for stride in (0, -1):
        g = Graph([Tensor(0, "x", (1, 4, 4, 1), "float32"), Tensor(1, "y", (1, 2, 2, 1), "float32")],
                  [Op(0, "MAX_POOL_2D", [0], [1], {"padding": "VALID", "stride_w": stride,
                                                   "stride_h": stride, "filter_w": 2,
                                                   "filter_h": 2, "activation": "NONE"})],
                  [0], [1])
        with pytest.raises(BnnkitError, match="stride"):
            lower(g, "m.tflite")


# ------------------------------------------------------------------ generated C

def test_arena_is_a_union_and_cppcheck_finds_nothing(tmp_path):
    """No pointer casts between float and uint32_t: the arena is a union of both
    arrays. cppcheck (installed by make) reports nothing in the generated C."""
    out = tmp_path / "p"
    assert invoke("gen-firmware", MODELS / "lenet_bin3_t0_50_100_150_200_255.tflite",
                  "-o", out)[0] == 0
    lib = out / "lenet_bin3_t0_50_100_150_200_255"
    source = (lib / f"{lib.name}.c").read_text()
    assert "(float *)" not in source and "(uint32_t *)" not in source
    assert "float f[" in source and "uint32_t u[" in source
    if shutil.which("cppcheck") is None:
        pytest.skip("cppcheck not installed (make test installs it)")
    res = subprocess.run(["cppcheck", "--enable=warning,portability", "--error-exitcode=1",
                          "--inline-suppr", "-q", "--std=c99", str(lib / f"{lib.name}.c"),
                          str(lib / f"{lib.name}_data.c")], capture_output=True, text=True)
    assert res.returncode == 0 and res.stderr.strip() == "", res.stderr


def test_shipped_models_clean_under_sanitizers_with_bnn_checks(tmp_path):
    """-DBNN_CHECKS gives every buffer its own object; built with ASan and UBSan
    each shipped structure classifies random images without a report."""
    import random

    from fuzz import sanitizer_run

    rng = random.Random(0)
    for stem in ("lenet_float", "lenet_bin3", "lenet_bin3_t0_50_100_150_200_255", "qconvnet",
                 "signnet_t0_150_255", "lenet_float_int8", "lenet_bin3_int8"):
        out = tmp_path / stem
        assert invoke("gen-firmware", MODELS / f"{stem}.tflite", "-o", out)[0] == 0
        assert sanitizer_run(out, rng, tmp_path) is None, stem


# ------------------------------------------------------------------ signals

def _bnnkit(*args, env=None):
    exe = Path(sys.executable).parent / "bnnkit"
    return subprocess.Popen([str(exe), *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)


def _children(pid):
    out = subprocess.run(["ps", "-o", "pid=,comm=", "--ppid", str(pid)], capture_output=True,
                         text=True).stdout
    return [line.split(None, 1)[1] for line in out.strip().split("\n") if line.strip()]


@pytest.mark.parametrize("delay", [0.1, 0.2, 0.3])
def test_sigint_during_start_up_is_one_line(delay, tmp_path):
    # Lands in the Python start-up, click, or numpy's C import (which turns a
    # KeyboardInterrupt into an ImportError unless bnnkit defers it).
    out = tmp_path / "out"
    proc = _bnnkit("gen-firmware", LENET, "-o", str(out))
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err
    if proc.returncode == 0:  # it finished before the signal
        assert (out / "lenet_bin3" / "lenet_bin3.c").is_file()
    else:
        assert proc.returncode == 130 and err.strip() == "bnnkit: interrupted", err
        assert not out.exists()


@needs_fashion
@pytest.mark.parametrize("sig,code,word", [(signal.SIGTERM, 143, "terminated"),
                                           (signal.SIGINT, 130, "interrupted")])
def test_signals_stop_qemu_and_remove_temporary_folders(sig, code, word, tmp_path):
    env = dict(os.environ, TMPDIR=str(tmp_path))
    proc = _bnnkit("simulate", LENET, "--target", "cortex-m4", env=env)
    deadline = time.time() + 120
    while time.time() < deadline and "qemu-system-arm" not in _children(proc.pid):
        time.sleep(0.2)
    assert "qemu-system-arm" in _children(proc.pid), "QEMU never started"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code and err.strip().endswith(f"bnnkit: {word}"), err
    assert "Traceback" not in err
    left = subprocess.run(["pgrep", "-f", f"qemu-system-arm.*{tmp_path}"], capture_output=True)
    assert left.returncode == 1, "a QEMU process outlived bnnkit"
    assert list(tmp_path.iterdir()) == [], list(tmp_path.iterdir())


# ------------------------------------------------------------------ fuzz

def test_fuzz_mutated_models_and_sidecars():
    """A bounded run of tests/fuzz.py (`make fuzz` runs 5,000 cases): no
    traceback, no unclean error, no injection, nothing half-written, and no
    sanitizer report from the accepted structures it builds."""
    from fuzz import fuzz

    tally = fuzz(250, seed=12345, max_builds=4)
    assert tally.cases == 250 and tally.outcomes["accepted"] > 10
    assert tally.failures == [], tally.failures[:5]


def test_fuzz_a_public_binary_network(tmp_path):
    """The same on binary_dscnn (LCE's bconvs, depthwise convs, a global pool),
    converted once into the test's folder."""
    from fuzz import fuzz

    tally = fuzz(120, seed=7, max_builds=3, names=(), public=("binary_dscnn",), cache=tmp_path)
    assert tally.cases == 120 and tally.outcomes["accepted"] > 5
    assert tally.failures == [], tally.failures[:5]
