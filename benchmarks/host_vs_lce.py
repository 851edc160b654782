"""Host benchmark: the generated C against LCE's interpreter, side by side, one run.

For each shipped LeNet over the full Fashion-MNIST test set (or --limit):
accuracy, agreement, max score difference, model bytes, arena bytes, and the
time per image of the generated C (host -O3) and of LCE's interpreter (one
thread) on the same flatbuffer.

    .venv/bin/python benchmarks/host_vs_lce.py [--limit N] [--models lenet_bin3,...]
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--limit", type=int)
    ap.add_argument("--models", default="lenet_float,lenet_bin1,lenet_bin2,lenet_bin3,lenet_bin3_plus")
    args = ap.parse_args()
    from bnnkit.simulate import simulate

    print(f"{'model':<16} {'images':>6} {'acc %':>6} {'LCE acc %':>9} {'agree %':>8} "
          f"{'max|diff|':>9} {'model B':>8} {'arena B':>8} {'C us/img':>9} {'LCE us/img':>10}")
    for name in args.models.split(","):
        record, extra = simulate(ROOT / "models" / f"{name}.tflite", "host", limit=args.limit)
        print(f"{name:<16} {record['n_images']:>6} {100 * record['accuracy']:>6.2f} "
              f"{100 * record['reference_accuracy']:>9.2f} {100 * record['agreement']:>8.2f} "
              f"{record['max_abs_diff']:>9.2e} {record['model_bytes']:>8,} "
              f"{record['arena_bytes']:>8,} {extra['c_us_per_image']:>9.1f} "
              f"{extra['lce_us_per_image']:>10.1f}", flush=True)
    print(f"\nLCE us/img is the interpreter's predict call from Python (after a warm-up, "
          f"without loading or the progress bar); the same call on a one-layer model "
          f"(flatten + dense 784x10) takes {call_overhead_us(record['n_images']):.1f} us/img, "
          f"the part of LCE's time that is call overhead rather than inference.")
    print("targets (lenet_bin3, 10,000 images): agreement >= 99.9 %, max|diff| <= 1e-4, "
          "model B <= 31,400, arena B <= 10,240, C faster than LCE")
    return 0


def call_overhead_us(n_images: int) -> float:
    """Time per predict call of LCE's interpreter on a trivial model of the same input."""
    import numpy as np

    from bnnkit.tfenv import keras
    import larq_compute_engine as lce

    from bnnkit.reference import lce_predict

    inp = keras.Input((28, 28, 1))
    tiny = keras.Model(inp, keras.layers.Dense(10)(keras.layers.Flatten()(inp)))
    x = np.zeros((n_images, 28, 28, 1), np.float32)
    timing = {}
    lce_predict(lce.convert_keras_model(tiny), x, timing=timing)
    return 1e6 * timing["seconds"] / n_images


if __name__ == "__main__":
    sys.exit(main())
