"""Cortex-M4 on QEMU mps2-an386, Cortex-M3 on mps2-an385, Cortex-M7 on mps2-an500,
Cortex-M33 on mps2-an505, RV32 on virt and ARM64 on qemu-aarch64: short runs."""

import numpy as np
import pytest

from bnnkit.errors import BnnkitError
from helpers import MODELS, needs_fashion, run_cli


@pytest.fixture(scope="module")
def host_run(tmp_path_factory):
    from bnnkit.simulate import simulate

    return simulate(MODELS / "lenet_bin3.tflite", "host", limit=200,
                    build_dir=tmp_path_factory.mktemp("host"))


@needs_fashion
@pytest.mark.parametrize("target", ["cortex-m4", "arm64"])
def test_device_matches_host(tmp_path, host_run, target):
    from bnnkit.simulate import simulate

    record, extra = simulate(MODELS / "lenet_bin3.tflite", target, limit=200, build_dir=tmp_path)
    assert np.array_equal(extra["predictions"], host_run[1]["predictions"])
    assert record["agreement"] >= 0.995
    assert record["instructions_per_inference"] > 100_000
    assert record["model_flash_bytes"] == record["model_bytes"]
    assert record["code_flash_bytes"] > 0 and record["flash_bytes"] > record["model_flash_bytes"]
    if target == "cortex-m4":
        assert record["model_flash_bytes"] <= 31400
        # the kernels' code: 8,091 B before the conv's VFP assembly, 8,287 B with it
        # (issue 11: at most twice the kernels' code)
        assert record["code_flash_bytes"] <= 9216
        assert 0 < record["ram_bytes"] <= 16384


@needs_fashion
@pytest.mark.parametrize("target", ["cortex-m7", "cortex-m33", "riscv32"])
@pytest.mark.parametrize("model", ["lenet_bin3", "lenet_bin3_int8"])
def test_cortex_m7_m33_and_riscv32_are_bit_identical(tmp_path, target, model):
    """The other QEMU boards through the CLI: LCE's bytes, the device figures,
    the M33's own memory map (code at its secure alias 0x10000000), and the
    RISC-V virt machine with picolibc."""
    import json

    out = tmp_path / "r.json"
    res = run_cli("simulate", MODELS / f"{model}.tflite", "--target", target, "--limit", "5",
                  "--build-dir", tmp_path / "b", "--json", out)
    assert res.returncode == 0, res.stderr
    record = json.loads(out.read_text())
    assert record["agreement"] == 1.0 and record["max_abs_diff"] == 0
    assert record["model_flash_bytes"] == record["model_bytes"]
    assert record["instructions_per_inference"] > 100_000
    makefile = (tmp_path / "b" / f"{model}-{target}" / "app" / "Makefile").read_text()
    if target == "riscv32":
        assert "-march=rv32imafc -mabi=ilp32f" in makefile and "picolibc" in makefile
    else:
        assert f"-mcpu={target}" in makefile
        assert ("-T mps2-an505.ld" in makefile) == (target == "cortex-m33")


@needs_fashion
@pytest.mark.parametrize("model,ceiling", [("qconvnet", 2_500_000), ("lenet_float", 1_400_000)])
def test_cortex_m4_vfp_conv_is_bit_exact(tmp_path, model, ceiling):
    """The float conv's VFP assembly on other shapes than lenet_bin3's: qconvnet's
    3x3 first layer (an odd number of taps per kernel row, 16 channels in four
    blocks) and lenet_float; LCE's bytes, and issue 11's instruction ceilings."""
    import json

    out = tmp_path / "r.json"
    res = run_cli("simulate", MODELS / f"{model}.tflite", "--target", "cortex-m4", "--limit", "5",
                  "--build-dir", tmp_path / "b", "--json", out)
    assert res.returncode == 0, res.stderr
    record = json.loads(out.read_text())
    assert record["agreement"] == 1.0 and record["max_abs_diff"] == 0
    assert 100_000 < record["instructions_per_inference"] <= ceiling


@needs_fashion
def test_cortex_m3_is_bit_identical(tmp_path):
    """The soft-float Cortex-M3 (mps2-an385) through the CLI: the same scores as
    LCE's interpreter to the bit, and the device figures. qconvnet rather than
    lenet_bin3: every float MAC is a soft-float fmaf on the M3, and counting
    lenet_bin3's ~96 M instructions from QEMU's log alone takes about a minute."""
    import json

    out = tmp_path / "r.json"
    res = run_cli("simulate", MODELS / "qconvnet.tflite", "--target", "cortex-m3", "--limit", "5",
                  "--build-dir", tmp_path / "b", "--json", out)
    assert res.returncode == 0, res.stderr
    record = json.loads(out.read_text())
    assert record["agreement"] == 1.0 and record["max_abs_diff"] == 0
    assert record["instructions_per_inference"] > 0
    assert record["model_flash_bytes"] == record["model_bytes"]
    assert record["flash_bytes"] > record["model_flash_bytes"] and 0 < record["ram_bytes"]
    assert "-mcpu=cortex-m3 -mthumb -mfloat-abi=soft" in (
        tmp_path / "b" / "qconvnet-cortex-m3" / "app" / "Makefile").read_text()


@needs_fashion
def test_instruction_count_is_stable(tmp_path):
    from bnnkit import data
    from bnnkit.build import make
    from bnnkit.device import instructions_per_inference
    from bnnkit.emit import generate

    gen = generate(MODELS / "lenet_bin3.tflite", "cortex-m4", tmp_path / "p")
    exe = make(tmp_path / "p", gen.target)
    image = data.load_fashion_mnist("test").images[:1]
    first = instructions_per_inference(gen.target, exe, image, 120)
    assert first == instructions_per_inference(gen.target, exe, image, 120)
    # QEMU counts are deterministic: the register-blocked conv (4 positions x 4 or
    # 6 channels) took lenet_bin3 from 3,110,947 to 1,329,888 on this image, its
    # VFP assembly with channel-blocked weights to 1,049,478 (issue 11: <= 1.1 M)
    assert first <= 1_100_000


@needs_fashion
def test_profile_splits_the_inference_by_layer(tmp_path):
    """simulate --profile: a -DBNN_PROFILE build's per-layer counts add up to
    about the plain build's total (the calls between layers cost a few
    instructions each), and the float convs carry most of lenet_bin3."""
    from bnnkit import data
    from bnnkit.build import make
    from bnnkit.device import instructions_per_inference
    from bnnkit.emit import generate
    from bnnkit.profile import format_profile, profile_device

    gen = generate(MODELS / "lenet_bin3.tflite", "cortex-m4", tmp_path / "p")
    exe = make(tmp_path / "p", gen.target)
    image = data.load_fashion_mnist("test").images[:1]
    total = instructions_per_inference(gen.target, exe, image, 120)
    rows, before = profile_device(gen, image, 120)
    assert [r["kind"] for r in rows] == [n.kind for n in gen.low.nodes]
    profiled = before + sum(r["instructions"] for r in rows)
    assert abs(profiled - total) <= 10 * len(rows), (profiled, total)
    convs = sum(r["instructions"] for r in rows if r["kind"] == "conv2d")
    assert convs > 0.8 * total and all(r["instructions"] >= 0 for r in rows)
    assert rows[0]["macs"] == 28 * 28 * 25 * 6
    text = format_profile(rows, before)
    assert "conv2d" in text and f"{profiled:,}" in text


def test_over_budget_is_refused(tmp_path):
    res = run_cli("gen-firmware", MODELS / "lenet_float.tflite", "--target", "cortex-m4",
                  "--flash-kib", "64", "-o", tmp_path / "p")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "does not fit cortex-m4 flash" in res.stderr and "bytes over the 64 KiB" in res.stderr
    assert not (tmp_path / "p").exists()
    res = run_cli("gen-firmware", MODELS / "lenet_bin3.tflite", "--target", "cortex-m4",
                  "--ram-kib", "4", "-o", tmp_path / "q")
    assert res.returncode == 2 and "does not fit cortex-m4 RAM" in res.stderr


@needs_fashion
@pytest.mark.parametrize("target,model,ram_kib", [("cortex-m4", "lenet_bin3", "10"),
                                                  ("cortex-m3", "lenet_bin3_int8", "5")])
def test_budgets_check_the_whole_firmware(tmp_path, target, model, ram_kib):
    """40 KiB of flash and RAM_KIB: the model's constants and arena fit, its
    firmware does not. gen-firmware links the example firmware and refuses it,
    saying where the bytes go; a budget it accepts is one the linked firmware,
    measured by simulate (stack painted by the run), meets, with the same RAM
    figure in gen-firmware, simulate and analyze."""
    import json

    from bnnkit.emit import generate

    gen = generate(MODELS / f"{model}.tflite", target, tmp_path / "g")
    assert gen.model_bytes < 40 * 1024 and gen.program.arena_bytes < int(ram_kib) * 1024
    res = run_cli("gen-firmware", MODELS / f"{model}.tflite", "--target", target,
                  "--flash-kib", "40", "--ram-kib", ram_kib, "-o", tmp_path / "p")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert f"does not fit {target} flash: the firmware needs" in res.stderr
    assert f"model constants {gen.model_bytes:,}, model code and kernels" in res.stderr
    assert not (tmp_path / "p").exists()
    res = run_cli("gen-firmware", MODELS / f"{model}.tflite", "--target", target,
                  "--ram-kib", ram_kib, "-o", tmp_path / "p")
    assert res.returncode == 2 and f"does not fit {target} RAM" in res.stderr
    assert f"arena {gen.program.arena_bytes:,}, stack" in res.stderr
    assert "measured on the emulator" in res.stderr
    # the smallest whole-KiB budget gen-firmware accepts, then simulate's measurement
    res = run_cli("gen-firmware", MODELS / f"{model}.tflite", "--target", target,
                  "-o", tmp_path / "q")
    assert res.returncode == 0, res.stderr
    import re

    found = re.search(r"fits \S+: ([\d,]+) bytes of flash.*?, ([\d,]+) bytes of RAM", res.stdout)
    flash, ram = (int(v.replace(",", "")) for v in found.groups())
    kib = [str(-(-flash // 1024)), str(-(-ram // 1024))]
    res = run_cli("gen-firmware", MODELS / f"{model}.tflite", "--target", target,
                  "--flash-kib", kib[0], "--ram-kib", kib[1], "-o", tmp_path / "r")
    assert res.returncode == 0, res.stderr
    out = tmp_path / "r.json"
    res = run_cli("simulate", MODELS / f"{model}.tflite", "--target", target, "--limit", "2",
                  "--flash-kib", kib[0], "--ram-kib", kib[1], "--json", out)
    assert res.returncode == 0, res.stderr
    record = json.loads(out.read_text())
    # one RAM figure: gen-firmware's, simulate's over real images and analyze's agree
    assert record["flash_bytes"] == flash and record["ram_bytes"] == ram
    res = run_cli("analyze", MODELS / f"{model}.tflite", "--target", target, "--json", out)
    assert res.returncode == 0, res.stderr
    totals = json.loads(out.read_text())["totals"]
    assert totals["ram_bytes"] == ram and totals["stack_source"].startswith("measured")
    res = run_cli("simulate", MODELS / f"{model}.tflite", "--target", target, "--limit", "2",
                  "--flash-kib", str(int(kib[0]) - 1))
    assert res.returncode == 2 and f"does not fit {target} flash" in res.stderr


def test_float_lenet_fits_default_budget(tmp_path):
    res = run_cli("gen-firmware", MODELS / "lenet_float.tflite", "--target", "cortex-m4",
                  "-o", tmp_path / "p")
    assert res.returncode == 0, res.stderr


@needs_fashion
def test_emulator_timeout_is_an_error(tmp_path):
    from bnnkit.build import make
    from bnnkit.device import run_device
    from bnnkit.emit import generate
    from bnnkit.build import write_images

    gen = generate(MODELS / "lenet_bin3.tflite", "cortex-m4", tmp_path / "p")
    exe = make(tmp_path / "p", gen.target)
    images = tmp_path / "imgs.bin"
    write_images(images, np.zeros((2000, 28, 28), np.uint8))
    with pytest.raises(BnnkitError, match="timed out after 0 s") as err:
        run_device(gen.target, exe, images, tmp_path / "out.txt", timeout=0.2)
    assert err.value.exit_code == 1


def test_host_profile_times_every_layer(tmp_path):
    """simulate --profile on the host: a -DBNN_PROFILE -DBNN_PROFILE_TIME build
    adds up the clock per layer; every layer gets a row, the convs a time."""
    from bnnkit.emit import generate
    from bnnkit.profile import format_host_profile, profile_host

    gen = generate(MODELS / "lenet_bin3.tflite", "host", tmp_path / "p")
    images = np.random.default_rng(0).integers(0, 256, (50, 28, 28)).astype(np.uint8)
    rows = profile_host(gen, images, 120)
    assert [r["kind"] for r in rows] == [n.kind for n in gen.low.nodes]
    assert all(r["us"] >= 0 for r in rows)
    assert all(r["us"] > 0 for r in rows if r["kind"] == "conv2d")
    assert "us/input" in format_host_profile(rows)
