"""How a sweep scales with Ray workers: the same trials with 1 worker, then with
N, each into a fresh folder, wall times side by side.

Every trial trains with one TensorFlow thread whatever the worker count (so its
result does not depend on it), which is why the records of both runs must be
identical apart from timings; the script checks that too. By default 4 small
trials (lenet_bin1 with four binary widths, 1 epoch on 3,000 images, 500 test
images); --spec runs your own.

    python benchmarks/sweep_scaling.py                 # 1 vs 2 workers
    python benchmarks/sweep_scaling.py --workers 4 --spec sweeps/paper000-figs5-8.yaml
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPEC = """
name: scaling
dataset: fashion-mnist
target: cortex-m4
test_limit: 500
defaults: {arch: lenet_bin1, epochs: 1, train_limit: 3000}
groups:
  - name: widths
    grid: {binary_widths: [[10], [20], [40], [80]]}
"""

SAME = ("accuracy", "lce_accuracy", "agreement", "model_bytes", "flash_bytes", "ram_bytes",
        "instructions_per_inference")


def run(spec: Path, out: Path, workers: int) -> float:
    exe = Path(sys.executable).parent / "bnnkit"
    t0 = time.time()
    res = subprocess.run([str(exe), "sweep", str(spec), "--workers", str(workers), "-o", str(out)],
                         capture_output=True, text=True)
    wall = time.time() - t0
    if res.returncode:
        sys.exit(f"sweep with {workers} worker(s) failed: {res.stderr.strip()[-2000:]}")
    return wall


def figures(out: Path) -> dict:
    recs = {}
    for path in sorted((out / "trials").glob("*.json")):
        rec = json.loads(path.read_text())
        recs[path.stem] = {k: rec[k] for k in SAME}
    return recs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=2, help="compared with 1 worker (default 2)")
    ap.add_argument("--spec", help="a sweep spec (default: 4 small trials)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bnnkit-scaling-") as tmp:
        tmp = Path(tmp)
        spec = Path(args.spec) if args.spec else tmp / "scaling.yaml"
        if not args.spec:
            spec.write_text(SPEC)
        walls = {}
        for workers in (1, args.workers):
            out = tmp / f"w{workers}"
            shutil.rmtree(out, ignore_errors=True)
            walls[workers] = run(spec, out, workers)
            print(f"{workers} worker(s): {walls[workers]:.1f} s wall", flush=True)
        same = figures(tmp / "w1") == figures(tmp / f"w{args.workers}")
        n = len(figures(tmp / "w1"))
    print(f"\n{n} trials on {os.cpu_count()} cores: 1 worker {walls[1]:.1f} s, "
          f"{args.workers} workers {walls[args.workers]:.1f} s, speed-up "
          f"{walls[1] / walls[args.workers]:.2f}x (ideal {min(args.workers, n):.0f}x)")
    print("records identical apart from timings: " + ("yes" if same else "NO"))
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
