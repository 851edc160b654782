"""Every kernel header can be included together (a model uses any mix of them):
no macro, type or function is defined twice, under gcc (and clang when present)."""

import ctypes
import shutil
import subprocess

import pytest

from kernels.kernel_lib import KERNELS

from bnnkit.targets import TARGETS


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


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_every_kernel_compiles_with_clang(target, tmp_path):
    """gcc builds every kernel in the other tests; clang must accept them too, for
    every target, warning-free under -Werror."""
    if shutil.which("clang") is None:
        pytest.skip("clang not installed")
    for src in sorted(KERNELS.glob("*.c")):
        res = subprocess.run(["clang", "-std=c99", "-Wall", "-Wextra", "-Werror",
                              "-ffp-contract=off", "-O2", *TARGETS[target].clang_args, "-c",
                              "-o", str(tmp_path / "k.o"), str(src)],
                             capture_output=True, text=True)
        assert res.returncode == 0, f"{src.name}: {res.stderr}"


def test_every_kernel_struct_is_read_from_its_header():
    """kernel_structs reads each typedef'd parameter struct (the one declaration
    the emitters and the tests' ctypes mirrors take their field order from)."""
    import re

    from bnnkit.kernel_structs import ctypes_struct, struct_fields

    names = sorted(set(re.findall(r"\}\s*(bnn_\w+_params)\s*;", "".join(
        p.read_text() for p in KERNELS.glob("*.h")))))
    assert len(names) >= 15
    for name in names:
        fields = struct_fields(name)
        assert fields and ctypes.sizeof(ctypes_struct(name)) == 4 * sum(max(c, 1) for _, c in fields)
