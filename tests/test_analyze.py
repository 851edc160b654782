"""bnnkit analyze: per-layer costs, the linked firmware's totals, the verdict."""

import json

import pytest

from helpers import MODELS, needs_fashion, run_cli


@needs_fashion
@pytest.mark.parametrize("target", ["cortex-m4", "cortex-m3"])
def test_analyze_agrees_with_the_linked_firmware_and_the_emulator(tmp_path, target):
    """Flash and RAM exactly simulate's (one RAM figure: the stack painted on
    the emulator; without one, the call graph's deepest chain: RAM within 5 %),
    the emulator's instructions exactly; per layer, constants that add up."""
    out, sim = tmp_path / "a.json", tmp_path / "s.json"
    model = MODELS / "lenet_bin3_int8.tflite"
    analyzed = run_cli("analyze", model, "--target", target, "--measure", "--json", out)
    assert analyzed.returncode == 0, analyzed.stderr
    report = json.loads(out.read_text())
    res = run_cli("simulate", model, "--target", target, "--limit", "1", "--json", sim)
    assert res.returncode == 0, res.stderr
    record = json.loads(sim.read_text())
    t = report["totals"]
    assert t["flash_bytes"] == record["flash_bytes"]
    assert t["ram_bytes"] == record["ram_bytes"] and t["stack_bytes"] == record["stack_bytes"]
    from bnnkit.device import linked_estimate
    from bnnkit.emit import generate

    gen = generate(model, target, tmp_path / "g")
    graph = linked_estimate(gen, gen.out_dir, measure_stack=False)
    assert graph["stack_source"].startswith("the deepest call chain")
    assert 0 <= record["ram_bytes"] - graph["ram_bytes"] <= 0.05 * record["ram_bytes"]
    assert t["instructions"] == record["instructions_per_inference"]
    layers = report["layers"]
    assert sum(r["const_bytes"] for r in layers) == t["const_bytes"] == record["model_bytes"]
    assert max(r["arena_live_bytes"] for r in layers) <= t["arena_bytes"] == record["arena_bytes"]
    profiled = t["input_instructions"] + sum(r["instructions"] for r in layers)
    assert abs(profiled - t["instructions"]) <= 10 * len(layers)  # the profile calls' own cost
    assert [r["kind"] for r in layers][:2] == ["conv2d_s8", "conv2d_s8"]
    assert layers[0]["inputs"][0] == {"shape": [28, 28, 1], "kind": "i8"}
    assert report["verdict"]["fits"] and report["verdict"]["dominant"]["work"][0]["layer"] == 1
    assert "verdict: FITS" in analyzed.stdout
    assert f"instructions per inference: {t['instructions']:,}" in analyzed.stdout


def test_a_board_is_its_core_and_its_memory(tmp_path):
    res = run_cli("analyze", MODELS / "lenet_bin3.tflite", "--board", "stm32l476")
    assert res.returncode == 0, res.stderr
    assert "on cortex-m4 (STM32L476RG)" in res.stdout
    assert "verdict: FITS" in res.stdout and "of 131,072 B" in res.stdout  # 128 KiB of SRAM
    # lenet_float's 431 KB of float weights do not fit 256 KiB: by how much, and where
    out = tmp_path / "a.json"
    res = run_cli("analyze", MODELS / "lenet_float.tflite", "--board", "stm32l476",
                  "--flash-kib", "256", "--json", out)
    assert res.returncode == 3, res.stderr  # does not fit: a CI job can gate on it
    assert res.stderr == ""
    report = json.loads(out.read_text())
    v, t = report["verdict"], report["totals"]
    assert not v["fits"] and v["flash_headroom_bytes"] == 256 * 1024 - t["flash_bytes"] < 0
    assert f"{-v['flash_headroom_bytes']:,} B OVER" in res.stdout
    assert v["dominant"]["const_bytes"][0]["name"].endswith("fc1/MatMul")
    assert report["board"]["part"] == "STM32L476RG" and report["budget"]["ram_kib"] == 128


def test_host_analysis_times_each_layer():
    res = run_cli("analyze", MODELS / "lenet_bin3.tflite", "--target", "host", "--measure")
    assert res.returncode == 0, res.stderr
    assert "us/input" in res.stdout and "time per inference on this machine" in res.stdout
    assert "verdict: no budget for this target" in res.stdout


@pytest.mark.parametrize("args,says", [
    (("--board", "stm32f407", "--target", "cortex-m7"), "is a cortex-m4"),
    (("--board", "rp2040"), "Invalid value for '--board'"),
])
def test_bad_analyze_options(args, says):
    res = run_cli("analyze", MODELS / "lenet_bin3.tflite", *args)
    assert res.returncode == 2 and says in res.stderr and "Traceback" not in res.stderr


def test_a_ram_overrun_names_the_peak_and_binary_work_counts(tmp_path):
    """Over a 4 KiB RAM budget: exit 3, the step at the arena's peak with the
    tensors live there; the work ranking counts binary ops (qconvnet's binary
    convs lead it, not its float stem by MACs alone)."""
    out = tmp_path / "a.json"
    res = run_cli("analyze", MODELS / "qconvnet.tflite", "--target", "cortex-m4",
                  "--ram-kib", "4", "--json", out)
    assert res.returncode == 3, res.stderr
    v = json.loads(out.read_text())["verdict"]
    peak = v["arena_peak"]
    assert peak["live_bytes"] == max(r["arena_live_bytes"] for r in
                                     json.loads(out.read_text())["layers"])
    assert sum(b["bytes"] for b in peak["buffers"]) == peak["live_bytes"]
    assert f"RAM peak: layer {peak['layer']}" in res.stdout
    assert peak["buffers"][0]["tensor"][-30:] in res.stdout
    work = v["dominant"]["work"]
    assert "mac_equivalents" in work[0] and "bconv" in " ".join(
        r["kind"] for r in json.loads(out.read_text())["layers"] if r["layer"] == work[0]["layer"])
