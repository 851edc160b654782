"""Fixtures shared by the tests."""

from __future__ import annotations

import numpy as np
import pytest

import helpers  # noqa: F401  (sets the environment before anything imports TensorFlow)


@pytest.fixture(scope="session")
def small_fashion_dir(tmp_path_factory):
    """A tiny Fashion-MNIST in IDX gz form: 256 train and 64 test images."""
    from bnnkit.data import write_idx_gz

    d = tmp_path_factory.mktemp("fashion")
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 256), ("t10k", 64)):
        labels = (np.arange(n) % 10).astype(np.uint8)
        images = rng.integers(0, 60, size=(n, 28, 28), dtype=np.uint8)
        for i, lab in enumerate(labels):  # a learnable pattern: a bright row per class
            images[i, 2 + 2 * lab, :] = 250
        write_idx_gz(d / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx_gz(d / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return d


