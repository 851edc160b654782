"""Speed benchmark: every shipped model on the host, the Cortex-M4 and arm64 in one run.

For each model and emulated target: instructions per inference, per layer and in
total (QEMU's execution log of the first input, a -DBNN_PROFILE build split at
each layer), beside an estimated floor per layer and the ratio to it. For the
host: microseconds per input of the generated C and of LCE's interpreter on the
same flatbuffer and inputs, and their ratio. Every output is checked bit for bit
against LCE's on the way.

The floor model (instructions a hand-scheduled kernel would need, loads of
weights amortised):
  cortex-m4  float layers 1.3 per multiply-accumulate (one VFMA each, plus loads
             shared across a register block); binary layers 9 per 32-bit word
             (XOR, a SWAR popcount of ~6, the add, loads amortised)
  arm64      float layers 0.35 per MAC (one 4-lane FMLA per 4 MACs, plus loads);
             binary layers 1.5 per word (EOR, CNT, UADALP over 128 bits and loads)
  int8 layers (conv2d_s8, fc_s8): cortex-m4 0.6 per MAC (one SMLAD per two MACs,
             loads shared across four channels); arm64 0.15 per MAC (8-lane SMLAL)
  cortex-m3  (no FPU, no DSP) float 25 per MAC (a soft-float fused multiply-add),
             binary 9 per word, int8 2 per MAC (one MLA, loads shared)
Other layers (quantize, softmax, ...) have no floor here ("-").

The summary ends with the anchors measured on the same emulated M4 with the same
counting (../shared/BRIEF.md): TensorFlow Lite Micro's reference kernels and
TFLite Micro + CMSIS-NN on paper 000's LeNet, beside bnnkit's runs of the
same networks (lenet_float, lenet_float_int8).

    .venv/bin/python benchmarks/speed.py [--models lenet_bin3,qconvnet] [--images 300]
                                          [--targets host,cortex-m4,arm64]

Inputs are Fashion-MNIST test images (random pixels for the Sign MNIST models when
that dataset is not installed; speed does not depend on it).
"""

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
# per float MAC, per 32-bit binary word, per int8 MAC
FLOOR = {"cortex-m4": (1.3, 9.0, 0.6), "cortex-m3": (25.0, 9.0, 2.0), "arm64": (0.35, 1.5, 0.15)}
# TFLite Micro on the emulated M4, instructions per inference (../shared/BRIEF.md)
ANCHORS = (("TFLite Micro, reference kernels", "LeNet float32", 10_801_292),
           ("TFLite Micro, reference kernels", "LeNet int8", 12_023_165),
           ("TFLite Micro + CMSIS-NN", "LeNet int8", 2_891_615))


def floor(row, target):
    per_mac, per_word, per_int8_mac = FLOOR[target]
    if row["macs"] and row["kind"] in ("conv2d", "fc", "depthwise_conv2d"):
        return per_mac * row["macs"]
    if row["macs"] and row["kind"] in ("conv2d_s8", "fc_s8"):
        return per_int8_mac * row["macs"]
    if row["bops"]:
        return per_word * row["bops"] / 32
    return None


def inputs_for(model, n):
    from bnnkit import data, metadata

    if metadata.load(model).get("dataset", "fashion-mnist") == "fashion-mnist":
        return data.load_fashion_mnist("test").images[:n]
    return np.random.default_rng(0).integers(0, 256, (n, 28, 28)).astype(np.uint8)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--models", help="comma-separated stems (default: every models/*.tflite)")
    ap.add_argument("--targets", default="host,cortex-m4,arm64")
    ap.add_argument("--images", type=int, default=300, help="inputs timed on the host")
    args = ap.parse_args()
    from bnnkit.profile import profile_device
    from bnnkit.simulate import run_comparison

    stems = (args.models.split(",") if args.models
             else sorted(p.stem for p in (ROOT / "models").glob("*.tflite")))
    totals = []
    for stem in stems:
        model = ROOT / "models" / f"{stem}.tflite"
        with tempfile.TemporaryDirectory() as tmp:
            for target in args.targets.split(","):
                x = inputs_for(model, args.images if target == "host" else 20)
                run = run_comparison(model, x, target, Path(tmp) / target)
                gen = run["generated"]
                out, ref = run["outputs"], run["reference"]
                exact = (np.array_equal(out, ref) if out.dtype == np.int8 else
                         np.array_equal(out.view(np.uint32), ref.view(np.uint32)))
                if target == "host":
                    c, lce = run["c_us_per_inference"], run["lce_us_per_inference"]
                    print(f"\n{stem} on host: {c:.1f} us per input (generated C) vs {lce:.1f} us "
                          f"(LCE interpreter): {lce / c:.2f}x faster; bit-identical: {exact}",
                          flush=True)
                    totals.append((stem, target, c, lce, exact))
                    continue
                rows, before = profile_device(gen, x[:1])
                total = before + sum(r["instructions"] for r in rows)
                print(f"\n{stem} on {target}: {total:,} instructions per inference "
                      f"(bit-identical with LCE on {len(x)} inputs: {exact})")
                print(f"  {'layer':<6}{'kind':<15}{'instructions':>13}{'share':>8}"
                      f"{'floor':>12}{'x floor':>9}")
                floors = []
                for r in rows:
                    f = floor(r, target)
                    floors.append(f if f is not None else r["instructions"])
                    shown = f"{f:>12,.0f}{r['instructions'] / f:>9.2f}" if f else f"{'-':>12}{'':>9}"
                    print(f"  {r['layer']:<6}{r['kind'][:14]:<15}{r['instructions']:>13,}"
                          f"{100 * r['instructions'] / total:>7.1f}%{shown}")
                est = before + sum(floors)
                print(f"  total {total:,}; floor (unmodelled layers as measured) {est:,.0f}; "
                      f"{total / est:.2f}x the floor", flush=True)
                totals.append((stem, target, total, est, exact))
    print("\nsummary")
    for stem, target, a, b, exact in totals:
        if target == "host":
            print(f"  {stem:<44} host       C {a:8.1f} us, LCE {b:8.1f} us: {b / a:5.2f}x faster"
                  f"{'' if exact else '  NOT BIT-IDENTICAL'}")
        else:
            print(f"  {stem:<44} {target:<10} {a:>11,} instr, {a / b:5.2f}x the floor"
                  f"{'' if exact else '  NOT BIT-IDENTICAL'}")
    if any(t[1] == "cortex-m4" for t in totals):
        print("\nanchors on the same emulated Cortex-M4 (BRIEF.md), and bnnkit's runs above")
        for system, net, instr in ANCHORS:
            print(f"  {system:<34} {net:<14} {instr:>11,} instr")
        for stem, target, a, _, _ in totals:
            if target == "cortex-m4" and stem in ("lenet_float", "lenet_float_int8", "lenet_bin3",
                                                  "lenet_bin3_int8"):
                print(f"  {'bnnkit':<34} {stem:<14} {a:>11,} instr")
    return 0 if all(t[-1] for t in totals) else 1


if __name__ == "__main__":
    sys.exit(main())
