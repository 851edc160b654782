"""The examples in the docstrings of the pipeline's pure modules run as written."""

import doctest
import importlib

import pytest

MODULES = ["bnnkit.emit", "bnnkit.fold", "bnnkit.lower", "bnnkit.memory", "bnnkit.preprocess",
           "bnnkit.ops", "bnnkit.ops._bits", "bnnkit.ops._geometry", "bnnkit.ops._numeric",
           "bnnkit.ops.lce_bconv2d", "bnnkit.outdir", "bnnkit.metadata", "bnnkit.errors",
           "bnnkit.profile", "bnnkit.ops.base", "bnnkit.ops._quant", "bnnkit.ops.conv2d_s8",
           "bnnkit.ops.softmax_s8", "bnnkit.ops.quantize_s8", "bnnkit.ops.dequantize_s8",
           "bnnkit.ops.quantize_bits_s8", "bnnkit.ops.average_pool_s8", "bnnkit.ops.mean_s8",
           "bnnkit.ops.elementwise_s8", "bnnkit.ops.requantize_s8",
           "bnnkit.ops.depthwise_conv2d_s8", "bnnkit.sweep", "bnnkit.sweep_report", "bnnkit.kernel_structs", "bnnkit.passes", "bnnkit.targets"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0 and result.attempted > 0
