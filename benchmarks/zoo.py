"""Public binary networks through bnnkit: larq-zoo's architectures, MLPerf Tiny-shaped
binary ResNet-8 and DS-CNN, and LCE's own end-to-end test models, all with random
weights and randomised batch norms (bnnkit.public_models).

For each: accepted (or the one-line reason), top-1 agreement with LCE's interpreter
and the largest score difference on N random inputs, model constant bytes, arena
bytes, generated C and LCE microseconds per inference on this host, instructions per
inference on arm64 (qemu-aarch64) and, for models that fit 1 MiB flash / 128 KiB RAM,
on the Cortex-M4 (QEMU mps2-an386): instructions, not cycles. Models whose constants
exceed --max-mib are lowered (accepted or not) but not built.

    .venv/bin/python benchmarks/zoo.py [--models a,b] [-n 20] [--targets arm64,cortex-m4]
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "toolchain"))


def measure(name: str, n: int, targets: list, max_mib: float) -> dict:
    from bnnkit import public_models as pm
    from bnnkit.emit import build_program
    from bnnkit.errors import BnnkitError
    from bnnkit.lower import lower
    from bnnkit.simulate import run_comparison
    from bnnkit.tflite_reader import parse_tflite

    row = {"model": name}
    t0 = time.time()
    try:
        flatbuffer = pm.convert(pm.build(name))
    except BnnkitError as exc:
        return dict(row, accepted="LCE: " + str(exc)[:120])
    row["lce_file_bytes"] = len(flatbuffer)
    try:
        prog = build_program(lower(parse_tflite(flatbuffer, name), name))
    except BnnkitError as exc:
        return dict(row, accepted="no: " + str(exc)[:200])
    row.update(accepted="yes", model_bytes=sum(c.nbytes for c in prog.consts),
               arena_bytes=prog.arena_bytes)
    if row["model_bytes"] > max_mib * 2**20:
        return dict(row, note=f"not built: over {max_mib} MiB of constants")
    x = pm.random_inputs(name, n, seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.tflite"
        path.write_bytes(flatbuffer)
        run = run_comparison(path, x, "host", Path(tmp) / "build")
        c, ref = run["outputs"], run["reference"]
        row.update(agreement=float(np.mean(c.argmax(1) == ref.argmax(1))),
                   max_abs_diff=float(np.max(np.abs(c.astype(np.float64) - ref))),
                   identical=float(np.mean(c == ref)),
                   c_us=run["c_us_per_inference"], lce_us=run["lce_us_per_inference"])
        for target in targets:
            fits = row["model_bytes"] <= 2**20 and row["arena_bytes"] <= 128 * 1024
            if target == "cortex-m4" and not fits:
                row[f"{target}_instructions"] = "does not fit"
                continue
            dev = run_comparison(path, x[:2], target, Path(tmp) / target, device=True)
            same = np.array_equal(dev["outputs"], c[:2])
            row[f"{target}_instructions"] = dev["instructions_per_inference"]
            row[f"{target}_same_as_host"] = same
            if target == "cortex-m4":
                row["m4_flash_bytes"], row["m4_ram_bytes"] = dev["flash_bytes"], dev["ram_bytes"]
    row["seconds"] = round(time.time() - t0, 1)
    return row


def main():
    from bnnkit import public_models as pm

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--models", default=",".join(pm.ALL))
    ap.add_argument("-n", type=int, default=20, help="random inputs per model")
    ap.add_argument("--targets", default="arm64,cortex-m4")
    ap.add_argument("--max-mib", type=float, default=8.0)
    args = ap.parse_args()
    targets = [t for t in args.targets.split(",") if t]
    print(f"{'model':<26} {'accepted':<9} {'agree %':>7} {'identical %':>11} {'max diff':>9} "
          f"{'LCE file B':>11} {'model B':>10} {'arena B':>9} {'C us':>8} {'LCE us':>8} "
          f"{'arm64 instr':>12} {'M4 instr':>12} {'M4 flash':>9} {'M4 RAM':>8}", flush=True)
    for name in args.models.split(","):
        r = measure(name, args.n, targets, args.max_mib)
        if r["accepted"] != "yes" or "agreement" not in r:
            print(f"{name:<26} {r['accepted'][:9]:<9} {r.get('note', r['accepted'])}", flush=True)
            continue

        def fmt(v, spec):
            return format(v, spec) if isinstance(v, (int, float)) else str(v)

        print(f"{name:<26} {'yes':<9} {100 * r['agreement']:>7.1f} {100 * r['identical']:>11.1f} "
              f"{r['max_abs_diff']:>9.2g} {r['lce_file_bytes']:>11,} {r['model_bytes']:>10,} "
              f"{r['arena_bytes']:>9,} {r['c_us']:>8.0f} {r['lce_us']:>8.0f} "
              f"{fmt(r.get('arm64_instructions', '-'), '>12,'):>12} "
              f"{fmt(r.get('cortex-m4_instructions', '-'), '>12,'):>12} "
              f"{fmt(r.get('m4_flash_bytes', '-'), '>9,'):>9} "
              f"{fmt(r.get('m4_ram_bytes', '-'), '>8,'):>8}", flush=True)


if __name__ == "__main__":
    main()
