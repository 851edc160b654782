"""Fixtures: the kernels as host shared libraries (see kernel_lib.py)."""

import pytest

from kernels.kernel_lib import build


@pytest.fixture(scope="session")
def lib(tmp_path_factory):
    return build(tmp_path_factory.mktemp("kernels"))


@pytest.fixture(scope="session")
def lib_swar(tmp_path_factory):
    """The Cortex-M word-wise popcount, compiled for the host."""
    return build(tmp_path_factory.mktemp("kernels_swar"), ("-DBNN_POPCOUNT_SWAR",))


@pytest.fixture(scope="session")
def lib_clamp_bits(tmp_path_factory):
    """The 32-bit cores' float clamp decided on the bits, built for the host."""
    return build(tmp_path_factory.mktemp("kernels_clamp_bits"), ("-DBNN_CLAMP_ON_BITS",))


@pytest.fixture(scope="session")
def lib_small(tmp_path_factory):
    """The Cortex-M register-blocked forms (conv: 4 positions x 4 or 6 channels;
    fully connected: 4 outputs at once), built for the host."""
    return build(tmp_path_factory.mktemp("kernels_small"), ("-DBNN_SMALL_CORE=1",))


@pytest.fixture(scope="session")
def lib_dsp(tmp_path_factory):
    """The int8 kernels' Cortex-M DSP path (SXTB16/SMLAD), emulated in C on the host."""
    return build(tmp_path_factory.mktemp("kernels_dsp"), ("-DBNN_S8_DSP_EMULATE",))
