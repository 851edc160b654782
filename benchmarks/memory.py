"""Memory: do real networks fit the RAM of the parts they are built for (issue 31)?

For each network, in one run:

- the arena with one buffer per tensor in the model's step order (the planner
  before in-place execution: ``build_program(..., in_place=False)`` without the
  ``fuse_residual_add`` pass) beside bnnkit's arena (outputs over dying inputs,
  residual ADDs fused into the binary conv, branches ordered for the smaller
  arena), and the most bytes live at one step (the bound for this schedule);
- on the emulated Cortex-M4: the linked example firmware's RAM (static data
  plus the stack painted over one inference, the figure gen-firmware, analyze
  and simulate report) and whether it fits the part named beside it;
- for MLPerf Tiny's models, TFLite Micro + CMSIS-NN's RAM (quoted from the
  brief, measured on the same emulated board: benchmarks/mlperf_tiny.py) and
  the ratio.

    .venv/bin/python benchmarks/memory.py [--models binary_resnet8,kws_ref_model]
                                           [--mlperf-dir ../shared/data/mlperf-tiny]

The public binary networks are converted by LCE once (cached like
benchmarks/binary.py); MLPerf Tiny's are read from --mlperf-dir.
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "toolchain"))
sys.path.insert(0, str(ROOT / "benchmarks"))

PUBLIC = ("binary_resnet8", "meliusnet22", "binary_resnet_e18", "binary_densenet28")
MLPERF = ("pretrainedResnet_quant", "vww_96_int8", "kws_ref_model", "ad01_int8",
          "pretrainedResnet")
# issue 31's targets: (arena bytes at most, or None; RAM bytes at most on the M4, or None;
#                      the part's RAM in KiB)
TARGETS = {"binary_resnet8": (114_688, None, 128), "meliusnet22": (None, None, 256),
           "binary_resnet_e18": (458_752, None, 512),
           "binary_densenet28": (2_300_000, None, None),
           "pretrainedResnet_quant": (None, 42_058, None), "vww_96_int8": (None, 52_898, None),
           "kws_ref_model": (None, 19_535, None), "pretrainedResnet": (None, None, 128)}


def model_path(name: str, mlperf_dir: Path) -> Path:
    if name in MLPERF:
        return mlperf_dir / f"{name}.tflite"
    from binary import flatbuffer

    return flatbuffer(name)


def arena_before(path: Path) -> int:
    """The arena with one buffer per tensor, in the model's order, no ADD fused."""
    from bnnkit.emit import _lower_and_plan, load_graph
    from bnnkit.targets import get_target

    _, plain = _lower_and_plan(load_graph(path)[0], str(path), get_target("cortex-m4"),
                               disabled_passes=["fuse_residual_add"], in_place=False)
    return plain.arena_bytes


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(PUBLIC + MLPERF))
    parser.add_argument("--mlperf-dir", type=Path,
                        default=ROOT.parent / "shared" / "data" / "mlperf-tiny")
    args = parser.parse_args()
    from bnnkit.analyze import analyze
    from mlperf_tiny import TFLM

    print(f"{'network':<24}{'arena before':>14}{'arena':>10}{'live peak':>11}{'target':>11}"
          f"{'M4 RAM':>10}{'TFLM RAM':>10}{'ratio':>7}{'target':>9}  fits")
    for name in args.models.split(","):
        path = model_path(name, args.mlperf_dir)
        if not path.is_file():
            print(f"{name:<24}missing: {path}")
            continue
        plain = arena_before(path)
        totals = analyze(path, "cortex-m4")["totals"]  # bnnkit's plan, linked and measured
        arena, peak, ram = (totals["arena_bytes"], totals["arena_peak_live_bytes"],
                            totals["ram_bytes"])
        arena_target, ram_target, part_kib = TARGETS.get(name, (None, None, None))
        tflm = TFLM[name][2] if name in TFLM else None
        fits = ("-" if part_kib is None else
                f"{'yes' if ram <= part_kib * 1024 else 'NO'} ({part_kib} KiB)")
        print(f"{name:<24}{plain:>14,}{arena:>10,}{peak:>11,}"
              f"{(f'{arena_target:,}' if arena_target else '-'):>11}{ram:>10,}"
              f"{(f'{tflm:,}' if tflm else '-'):>10}{(f'{ram / tflm:.2f}' if tflm else '-'):>7}"
              f"{(f'{ram_target:,}' if ram_target else '-'):>9}  {fits}", flush=True)


if __name__ == "__main__":
    main()
