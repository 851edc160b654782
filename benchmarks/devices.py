"""Device benchmark: the shipped LeNets on the emulated Cortex-M4 and ARM64.

Prints, per model and target, on-device accuracy, agreement with LCE, whether
every prediction equals the host build's, flash/RAM split, and instructions per
inference counted from QEMU (instructions, not cycles), counted twice to show
the count is stable.

    .venv/bin/python benchmarks/devices.py [--limit N] [--targets cortex-m4,arm64]

--targets also takes cortex-m3 (soft-float: about 70x the M4's instructions, so
use a small --limit).
"""

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--limit", type=int)
    ap.add_argument("--targets", default="cortex-m4,arm64")
    ap.add_argument("--models", default="lenet_float,lenet_bin1,lenet_bin2,lenet_bin3")
    args = ap.parse_args()
    from bnnkit import data
    from bnnkit.device import instructions_per_inference
    from bnnkit.simulate import simulate

    first_image = data.load_fashion_mnist("test").images[:1]
    print(f"{'model':<12} {'target':<10} {'images':>6} {'acc %':>6} {'agree %':>8} {'=host %':>8} "
          f"{'model fl':>8} {'code fl':>8} {'flash':>9} {'RAM':>7} {'stack':>6} {'I/O':>6} "
          f"{'instr/inf':>10} {'again':>10}")
    for name in args.models.split(","):
        model = ROOT / "models" / f"{name}.tflite"
        with tempfile.TemporaryDirectory() as tmp:
            _, host = simulate(model, "host", limit=args.limit, build_dir=Path(tmp) / "host")
            for target in args.targets.split(","):
                record, extra = simulate(model, target, limit=args.limit,
                                         build_dir=Path(tmp) / target)
                same = np.mean(extra["predictions"] == host["predictions"])
                again = instructions_per_inference(extra["generated"].target, extra["executable"],
                                                   first_image, 600)
                print(f"{name:<12} {target:<10} {record['n_images']:>6} "
                      f"{100 * record['accuracy']:>6.2f} {100 * record['agreement']:>8.2f} "
                      f"{100 * same:>8.2f} {record['model_flash_bytes']:>8,} "
                      f"{record['code_flash_bytes']:>8,} {record['flash_bytes']:>9,} "
                      f"{record['ram_bytes']:>7,} {record['stack_bytes']:>6,} "
                      f"{record['io_buffer_bytes']:>6,} {record['instructions_per_inference']:>10,} "
                      f"{again:>10,}", flush=True)
    print("\ninstr/inf: instructions executed per inference, counted from QEMU's exec log "
          "(QEMU models no cycles). RAM = data + bss + stack high-water mark, I/O buffers apart.")
    print("targets (lenet_bin3 on cortex-m4): =host >= 99.9 %, agree >= 99.9 %, model fl <= 31,400, "
          "code fl <= 8,192, RAM <= 16,384")
    return 0


if __name__ == "__main__":
    sys.exit(main())
