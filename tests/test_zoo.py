"""The zoo reproduces paper 000's parameter counts and larq sizes exactly."""

import pytest

from bnnkit import zoo

# (binary params, float params, larq KiB) from the paper's Figs. 1-4
PAPER_FIGURES = {
    "lenet_float": (0, 107786, 421.04),
    "lenet_bin1": (840, 107124, 418.56),
    "lenet_bin2": (10920, 97200, 381.02),
    "lenet_bin3": (105000, 4568, 30.66),
}


@pytest.mark.parametrize("arch", sorted(PAPER_FIGURES))
def test_lenet_matches_paper(arch):
    binary, floating, kib = PAPER_FIGURES[arch]
    p = zoo.profile(zoo.build(arch))
    assert p["binary_params"] == binary
    assert p["float_params"] == floating
    assert p["model_size_kib"] == pytest.approx(kib, abs=0.005)
    assert zoo.PAPER_TABLE[arch]["kib"] == kib


def test_lenet_bin3_int8_size():
    assert zoo.profile(zoo.build("lenet_bin3"))["model_size_int8_kib"] == pytest.approx(17.28, abs=0.005)


def test_unknown_architecture():
    from bnnkit.errors import BnnkitError

    with pytest.raises(BnnkitError, match="unknown architecture"):
        zoo.build("resnet")


@pytest.mark.parametrize("arch, widths, binary", [
    ("lenet_bin1", (40,), 84 * 40),  # Dense=40, then a float head to the 10 classes
    ("lenet_bin2", (100, 40), 120 * 100 + 100 * 40),
    ("lenet_bin3", (60, 42, 10), 784 * 60 + 60 * 42 + 42 * 10),
])
def test_binary_widths_vary_the_binary_layers(arch, widths, binary):
    model = zoo.build(arch, binary_widths=widths)
    assert model.output_shape == (None, 10)
    assert zoo.profile(model)["binary_params"] == binary
    names = [layer.name for layer in model.layers]
    assert ("fc_out" in names) == (widths[-1] != 10)


def test_binary_widths_count_must_match():
    from bnnkit.errors import BnnkitError

    with pytest.raises(BnnkitError, match="lenet_bin2 has 2 binary layers, not 1 widths"):
        zoo.build("lenet_bin2", binary_widths=(40,))


def test_float_head_after_binary_layer_is_bit_exact(tmp_path):
    """Dense=40's float head (paper 000's Fig. 6 networks): the generated C
    gives LCE's bytes on a randomly initialised model with batch-norm statistics."""
    import numpy as np

    from bnnkit.convert import convert_model
    from bnnkit.simulate import compare_on_inputs

    model = zoo.build("lenet_bin1", binary_widths=(40,))
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if layer.name.startswith("bn"):
            beta, mean, var = layer.get_weights()
            layer.set_weights([rng.normal(0, 0.5, beta.shape), rng.normal(0, 0.5, mean.shape),
                               rng.uniform(0.5, 2, var.shape)])
    path = tmp_path / "bin1_w40.tflite"
    path.write_bytes(convert_model(model))
    x = rng.uniform(0, 1, (20, 28, 28, 1)).astype(np.float32)
    c, ref, _ = compare_on_inputs(path, x, build_dir=tmp_path)
    assert c.shape == (20, 10) and np.array_equal(c, ref)
