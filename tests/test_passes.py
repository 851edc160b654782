"""Each fusion pass checked as FINN checks its transformations: the lowered
network run in numpy (passes.execute, every node by its op kind's reference)
gives the same output bytes on random inputs before and after the pass; a pass
can be disabled and the generated C still gives LCE's bytes."""

import copy

import numpy as np
import pytest

from helpers import MODELS, run_cli

from bnnkit import metadata, preprocess
from bnnkit.fold import fold_constants
from bnnkit.lower import to_nodes
from bnnkit.passes import PASS_NAMES, PASSES, apply_pass, execute, format_nodes
from bnnkit.tflite_reader import read_tflite

# between them every pass rewrites something
SHIPPED = ["lenet_bin3", "qconvnet", "lenet_bin3_int8", "signnet_t0_90_150_170_210_255",
           "lenet_bin1"]
# residual blocks of binary convs (zero and one padding, ReLU or none), converted by LCE
PUBLIC = ["lce_toy_model"]


def _inputs(name, low, n=4):
    """n random images preprocessed as the model's sidecar says (its int8 input
    quantized), as the generated C would hand them to the first node."""
    pixels = np.random.default_rng(0).integers(0, 256, (n,) + tuple(low.shapes[low.input]),
                                               dtype=np.uint8)
    quant = low.quant.get(low.input) if low.quant else None
    spec = metadata.load(MODELS / f"{name}.tflite")["preprocessing"]
    return list(preprocess.apply(spec, pixels, tuple(low.shapes[low.input]), quant))


def _bytes(y):
    return np.ascontiguousarray(y).view(np.uint8)


@pytest.fixture(scope="module")
def lowered(tmp_path_factory):
    from bnnkit import public_models as pm

    out = {}
    for name in SHIPPED:
        graph = read_tflite(MODELS / f"{name}.tflite")
        low = to_nodes(fold_constants(graph), name)
        out[name] = (low, _inputs(name, low))
    for name in PUBLIC:
        path = tmp_path_factory.mktemp("public") / f"{name}.tflite"
        path.write_bytes(pm.convert(pm.build(name)))
        low = to_nodes(fold_constants(read_tflite(path)), name)
        out[name] = (low, list(pm.random_inputs(name, 4, seed=0).astype(np.float32)))
    return out


@pytest.mark.parametrize("pass_name", PASS_NAMES)
def test_pass_keeps_the_outputs(pass_name, lowered):
    rewrote = []
    for name, (low, xs) in lowered.items():
        for p in PASSES[:PASS_NAMES.index(pass_name)]:  # the passes before it, in order
            low = apply_pass(p.name, low)
        after = apply_pass(pass_name, low)
        before_outputs = [execute(low, x) for x in xs]
        assert any(not np.array_equal(before_outputs[0], y) for y in before_outputs[1:]), \
            f"{name}: the outputs do not vary with the input"
        for x, y in zip(xs, before_outputs):
            assert np.array_equal(_bytes(execute(after, x)), _bytes(y)), (name, pass_name)
        if (format_nodes(after) != format_nodes(low)
                or [n.params for n in after.nodes] != [n.params for n in low.nodes]):
            rewrote.append(name)
    assert rewrote, f"{pass_name} rewrote none of {SHIPPED + PUBLIC}: the check proves nothing"


def test_apply_pass_leaves_its_input_alone(lowered):
    low, _ = lowered["lenet_bin3"]
    snapshot = copy.deepcopy(low)
    apply_pass("fuse_binary_dense", low)
    assert format_nodes(low) == format_nodes(snapshot)


def test_a_disabled_pass_still_gives_lce_bytes(tmp_path):
    """lenet_bin3 without its threshold and conv-pool fusions (the binary dense
    layers then output floats that LceQuantize signs, the pool runs apart):
    other C, the same bytes as LCE."""
    from bnnkit.build import make
    from bnnkit.emit import generate
    from bnnkit.simulate import reference_outputs, run_firmware

    res = run_cli("gen-firmware", MODELS / "lenet_bin3.tflite", "-o", tmp_path / "cli",
                  "--no-app", "--disable-pass", "fuse_threshold")
    assert res.returncode == 0, res.stderr
    gen = generate(MODELS / "lenet_bin3.tflite", "host", tmp_path / "fw",
                   disabled_passes=("fuse_threshold", "fuse_conv_pool"))
    c = (tmp_path / "fw" / "lenet_bin3" / "lenet_bin3.c").read_text()
    assert "bnn_binary_dense_f32" in c and "bnn_binary_dense_bits" not in c
    assert "bnn_maxpool_f32" in c
    x = np.random.default_rng(3).integers(0, 256, (10, 28, 28), dtype=np.uint8)
    _, scores, _ = run_firmware(gen, make(tmp_path / "fw", gen.target), x, 300)
    assert np.array_equal(scores, reference_outputs(gen, x))


def test_inspect_shows_each_pass():
    res = run_cli("inspect", MODELS / "qconvnet.tflite", "--passes")
    assert res.returncode == 0, res.stderr
    for name in ("to_nodes",) + PASS_NAMES:
        assert f"after {name}," in res.stdout
    assert "binary_dense" in res.stdout and "[pool]" in res.stdout
    res = run_cli("gen-firmware", MODELS / "qconvnet.tflite", "--disable-pass", "no_such_pass")
    assert res.returncode == 2 and "no_such_pass" in res.stderr
