"""The generated docs pages are the code's: regenerating them changes nothing."""

import pytest

from bnnkit import docgen
from helpers import ROOT


@pytest.mark.parametrize("page", sorted(docgen.PAGES))
def test_generated_page_is_current(page):
    committed = (ROOT / "docs" / page).read_text(encoding="utf-8")
    assert committed == docgen.PAGES[page](), f"docs/{page} is stale: run 'make docs'"


def test_every_tflite_op_and_command_is_documented():
    from bnnkit.cli import main
    from bnnkit.ops import REGISTRY

    ops = docgen.ops_table()
    for kind in REGISTRY.values():
        for op in kind.tflite:
            assert f"| {op} | {kind.dtype} |" in ops
    cli = docgen.cli_reference()
    for name in main.commands:
        assert f"## bnnkit {name}\n" in cli
    assert "Refuses:" in ops and "dilated convolution" in ops


def test_the_getting_started_larq_import_works_without_the_variable(tmp_path):
    """docs/getting-started.md: `from bnnkit.tfenv import keras, lq, tf` gives Larq
    its Keras 2 without TF_USE_LEGACY_KERAS in the environment."""
    import os
    import subprocess
    import sys

    code = ("from bnnkit.tfenv import keras, lq, tf\n"
            "model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),\n"
            "    lq.layers.QuantDense(10, input_quantizer='ste_sign', kernel_quantizer='ste_sign')])\n"
            "print(type(model).__module__.split('.')[0], model.count_params())\n")
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.split() == ["tf_keras", "7850"]


def test_the_dwt_profiling_example_compiles(tmp_path):
    """docs/integration.md's cycle-counter hook builds for the Cortex-M4 against a
    library named kws, warning-free."""
    import re
    import subprocess

    from bnnkit.emit import generate

    text = (ROOT / "docs" / "integration.md").read_text()
    section = text[text.index("## Timing layers on a board"):]
    code = re.search(r"```c\n(.*?)```", section, re.S).group(1)
    generate(ROOT / "models" / "lenet_bin3.tflite", "cortex-m4", tmp_path / "fw", name="kws",
             app=False)
    (tmp_path / "dwt.c").write_text(code)
    res = subprocess.run(["arm-none-eabi-gcc", "-std=c99", "-Wall", "-Wextra", "-Werror",
                          "-mcpu=cortex-m4", "-mthumb", "-c", "-I", str(tmp_path / "fw" / "kws"),
                          "-o", str(tmp_path / "dwt.o"), str(tmp_path / "dwt.c")],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_the_sidecar_example_is_a_valid_sidecar():
    """docs/sidecar.md's example passes bnnkit's own sidecar check."""
    import json
    import re

    from bnnkit.metadata import validate

    text = (ROOT / "docs" / "sidecar.md").read_text()
    meta = json.loads(re.search(r"```json\n(.*?)```", text, re.S).group(1))
    checked = validate(meta, "docs/sidecar.md")
    assert checked["preprocessing"]["kind"] == "scale" and len(checked["class_names"]) == 10
