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
