"""Every kernel header can be included together (a model uses any mix of them):
no macro, type or function is defined twice, under gcc (and clang when present)."""

import shutil
import subprocess

import pytest

from kernels.kernel_lib import KERNELS


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_all_headers_in_one_translation_unit(cc, tmp_path):
    if shutil.which(cc) is None:
        pytest.skip(f"{cc} not installed")
    headers = sorted(p.name for p in KERNELS.glob("*.h"))
    assert "bnn_kernels.h" in headers and len(headers) > 5
    src = tmp_path / "all.c"
    src.write_text("".join(f'#include "{h}"\n' for h in headers + headers)  # twice: guards
                   + "int main(void) { return 0; }\n")
    res = subprocess.run([cc, "-std=c99", "-Wall", "-Wextra", "-Werror", "-I", str(KERNELS),
                          "-fsyntax-only", str(src)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
