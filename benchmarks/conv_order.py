"""Which summation order does LCE's interpreter use for a float CONV_2D?

Each convolution of a shipped model is cut out as a Keras model of its own,
converted with LCE and run in LCE's interpreter on real test images (the second
convolution gets the first part's LCE output as input). Its outputs are compared,
value by value, with four float32 summations over the taps in (ky, kx, ic) order:

  mul0  from 0, multiply then add (TFLite's reference kernel), bias last
  mulb  from the bias, multiply then add
  fma0  from 0, fused multiply-add, bias last
  fmab  from the bias, fused multiply-add (what bnn_conv2d_f32 does)

    .venv/bin/python benchmarks/conv_order.py [--model lenet_bin3] [--limit 1500]
"""

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", default="lenet_bin3")
    ap.add_argument("--limit", type=int, default=1500)
    args = ap.parse_args()

    from bnnkit import tfenv  # noqa: F401  (quiet logs)
    import larq_compute_engine as lce
    import tensorflow as tf

    from bnnkit import data, preprocess, zoo
    from bnnkit.reference import lce_predict
    from kernels.kernel_lib import fma_f32

    model = tf.keras.models.load_model(ROOT / "models" / f"{args.model}.h5",
                                       custom_objects=zoo.custom_objects())
    images = data.load("fashion-mnist", "test").images[:args.limit]
    x = preprocess.apply(preprocess.UNIT_SCALE, images)

    def run_lce(sub, inputs):
        out = lce_predict(lce.convert_keras_model(sub), inputs)
        return out.reshape((len(inputs),) + tuple(sub.output_shape[1:]))

    print(f"{args.model}, {len(x)} test images: fraction of conv outputs equal to LCE's, bit for bit")
    print(f"{'layer':<8} {'mul0':>8} {'mulb':>8} {'fma0':>8} {'fmab':>8}")
    for layer in model.layers:
        if not isinstance(layer, tf.keras.layers.Conv2D):
            continue
        if layer.input is model.input:
            inputs = x
        else:  # LCE's own output of everything before this conv
            inputs = run_lce(tf.keras.Model(model.input, layer.input), x)
        inp = tf.keras.Input(inputs.shape[1:])
        ref = run_lce(tf.keras.Model(inp, layer(inp)), inputs)
        weights, bias = layer.get_weights()
        kh, kw = weights.shape[:2]
        ph, pw = (kh - 1) // 2, (kw - 1) // 2  # SAME padding, stride 1
        padded = np.pad(inputs, ((0, 0), (ph, kh - 1 - ph), (pw, kw - 1 - pw), (0, 0)))
        h, w = inputs.shape[1:3]
        taps = [(padded[:, ky:ky + h, kx:kx + w, c], weights[ky, kx, c])
                for ky in range(kh) for kx in range(kw) for c in range(inputs.shape[3])]
        row = []
        for name in ("mul0", "mulb", "fma0", "fmab"):
            acc = np.zeros(ref.shape, np.float32) + (bias if name.endswith("b") else 0)
            acc = acc.astype(np.float32)
            for col, wt in taps:
                if name.startswith("fma"):
                    acc = fma_f32(col[..., None], wt, acc)
                else:
                    acc = acc + col[..., None] * wt
            if name.endswith("0"):
                acc = acc + bias
            out = np.maximum(acc, 0) if layer.activation.__name__ == "relu" else acc
            row.append(float(np.mean(out == ref)))
        print(f"{layer.name:<8} " + " ".join(f"{v:>8.4f}" for v in row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
