"""Binary networks at the floor: the public binary networks on the Cortex-M4 and
arm64, in one run (issue 30).

For each network `bnnkit.public_models` builds (random weights, converted by LCE):
instructions per inference on each emulated target (QEMU's execution log of one
input, a -DBNN_PROFILE build split at each layer), the share of the binary
convolutions and their instructions per 32-bit word of XOR-popcount work
(positions x output channels x taps x input channels / 32) beside the floors
(Cortex-M4 ~8: XOR and a SWAR count with accumulators in registers; arm64 ~1,
LCE's own aarch64 kernel 0.98), the issue's targets, and on the host the
generated C's microseconds per input beside LCE's interpreter. Every output is
checked bit for bit against LCE's on the way (20 inputs per target).

    .venv/bin/python benchmarks/binary.py [--models binary_dscnn,quicknet_small]
                                           [--targets cortex-m4,arm64,host]

Converted flatbuffers are cached in build/public-models (keyed by the builder's
source and LCE's version): the conversion takes longer than the runs.
"""

import argparse
import hashlib
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "toolchain"))

MODELS = ("binary_dscnn", "binary_resnet8", "quicknet_small", "birealnet", "binary_resnet_e18")
FLOOR_PER_WORD = {"cortex-m4": 8.0, "arm64": 1.0}
# issue 30's targets, instructions per inference
TARGETS = {"arm64": {"quicknet_small": 2.4e6, "birealnet": 4.4e6, "binary_resnet_e18": 42e6,
                     "binary_resnet8": 3.2e6, "binary_dscnn": 1.5e6},
           "cortex-m4": {"binary_dscnn": 3.0e6, "binary_resnet8": 6.3e6,
                         "quicknet_small": 7.8e6, "birealnet": 14e6}}
BINARY_CONV = ("bconv2d",)


def flatbuffer(name: str) -> Path:
    """The LCE flatbuffer of public model ``name``, converted once."""
    from bnnkit import public_models as pm
    from bnnkit import tfenv  # noqa: F401  (Keras 2 before LCE imports TensorFlow)

    import larq_compute_engine

    key = hashlib.sha256(Path(pm.__file__).read_bytes()
                         + larq_compute_engine.__version__.encode()).hexdigest()[:12]
    path = ROOT / "build" / "public-models" / f"{name}-{key}.tflite"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        tmp.write_bytes(pm.convert(pm.build(name)))
        tmp.replace(path)
    return path


def bit_identical(out, ref) -> bool:
    return out.shape == ref.shape and np.array_equal(out.view(np.uint32), ref.view(np.uint32))


def device_row(path, x, target, tmp) -> dict:
    """Instructions on the emulated ``target``; no memory budget (QEMU's board
    has more than a part, and the speed of the kernels is what is measured)."""
    from bnnkit.build import make
    from bnnkit.emit import generate
    from bnnkit.errors import BnnkitError
    from bnnkit.profile import profile_device
    from bnnkit.simulate import execute

    try:
        gen = generate(path, target, Path(tmp) / target, check_budget=False)
        run = execute(gen, make(gen.out_dir, gen.target), x, 600)
    except BnnkitError as exc:
        return {"error": str(exc).split(": ", 1)[-1][:90]}
    rows, before = profile_device(gen, x[:1])
    total = before + sum(r["instructions"] for r in rows)
    bconv = [r for r in rows if r["kind"] in BINARY_CONV]
    b_instr, b_words = sum(r["instructions"] for r in bconv), sum(r["bops"] for r in bconv) / 32
    return {"instructions": total, "bconv_share": b_instr / total,
            "per_word": b_instr / b_words if b_words else None,
            "exact": bit_identical(run["outputs"], run["reference"])}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--targets", default="cortex-m4,arm64,host")
    ap.add_argument("-n", type=int, default=20, help="inputs checked against LCE per target")
    args = ap.parse_args()
    from bnnkit import public_models as pm
    from bnnkit.simulate import run_comparison

    targets = [t for t in args.targets.split(",") if t]
    ok = True
    print(f"{'network':<19}{'target':<11}{'instructions':>13}{'issue target':>14}{'bconv share':>12}"
          f"{'instr/word':>11}{'floor':>7}  bit-identical with LCE", flush=True)
    for name in args.models.split(","):
        path = flatbuffer(name)
        x = pm.random_inputs(name, args.n, seed=1)
        with tempfile.TemporaryDirectory() as tmp:
            for target in targets:
                if target == "host":
                    run = run_comparison(path, pm.random_inputs(name, 200, seed=1), "host",
                                         Path(tmp) / "host")
                    c, lce = run["c_us_per_inference"], run["lce_us_per_inference"]
                    exact = bit_identical(run["outputs"], run["reference"])
                    ok &= exact
                    print(f"{name:<19}{'host':<11}{c:>10.0f} us  LCE {lce:.0f} us: C at "
                          f"{c / lce:.2f}x LCE's time{'':>6}{exact}", flush=True)
                    continue
                r = device_row(path, x, target, tmp)
                if "error" in r:
                    print(f"{name:<19}{target:<11}  {r['error']}", flush=True)
                    continue
                ok &= r["exact"]
                goal = TARGETS.get(target, {}).get(name)
                goal_text = f"{goal / 1e6:>12.1f} M" if goal else f"{'-':>14}"
                met = "" if not goal else (" (met)" if r["instructions"] <= goal else " (not met)")
                word = f"{r['per_word']:>11.2f}" if r["per_word"] else f"{'-':>11}"
                print(f"{name:<19}{target:<11}{r['instructions']:>13,}{goal_text}"
                      f"{100 * r['bconv_share']:>11.1f}%{word}{FLOOR_PER_WORD[target]:>7.1f}  "
                      f"{r['exact']}{met}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
