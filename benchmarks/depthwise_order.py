"""Which summation order does LCE's interpreter use for a float DEPTHWISE_CONV_2D?

Tiny Keras models with one DepthwiseConv2D (several kernels, channel counts,
depth multipliers, strides, dilations, SAME/VALID, with and without bias) are
converted with LCE and run in LCE's interpreter on random inputs. Their outputs
are compared, bit for bit, with eight float32 summations over the taps inside
the image:

  yx / xy    taps in (ky, kx) or in (kx, ky) order
  fma / mul  one fused multiply-add per tap, or multiply then add
  b / 0      from the bias, or from 0 with the bias added last

(result: yxmulb, 100 % everywhere; what bnn_depthwise_conv2d_f32 does)

    .venv/bin/python benchmarks/depthwise_order.py
"""

import itertools
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "toolchain"))

CASES = [  # input shape, kernel, depth multiplier, strides, padding, bias, dilation, activation
    ((8, 8, 16), 3, 1, (1, 1), "SAME", True, (1, 1), None),
    ((8, 8, 16), 3, 1, (1, 1), "SAME", False, (1, 1), None),
    ((9, 9, 8), 3, 2, (2, 2), "SAME", True, (1, 1), None),
    ((9, 9, 8), 3, 1, (2, 2), "VALID", True, (1, 1), None),
    ((10, 7, 5), (3, 2), 2, (1, 2), "VALID", False, (1, 1), None),
    ((25, 5, 64), 3, 1, (1, 1), "SAME", True, (1, 1), None),
    ((12, 12, 6), 5, 1, (1, 1), "SAME", True, (1, 1), None),
    ((12, 12, 6), 7, 1, (1, 1), "SAME", True, (1, 1), None),
    ((12, 12, 6), 3, 1, (1, 1), "SAME", True, (2, 2), None),
    ((8, 8, 3), 3, 3, (2, 2), "SAME", True, (1, 1), "relu"),
    ((8, 8, 20), (1, 4), 1, (1, 1), "SAME", True, (1, 1), None),
]


def candidate(x, w, b, stride, dil, padding, order, fma, bias_first):
    """One summation order over x (N, H, W, C), w (1, kh, kw, C * dm), b (C * dm,)."""
    from bnnkit.ops._geometry import out_size, same_pad
    from bnnkit.ops._numeric import fma_f32

    n, h, wd, c = x.shape
    _, kh, kw, oc = w.shape
    dm = oc // c
    (sh, sw), (dh, dw) = stride, dil
    oh, ow = out_size(h, kh, sh, padding, dh), out_size(wd, kw, sw, padding, dw)
    pt = same_pad(h, (kh - 1) * dh + 1, sh, oh) if padding == "SAME" else 0
    pl = same_pad(wd, (kw - 1) * dw + 1, sw, ow) if padding == "SAME" else 0
    big = np.zeros((n, h + kh * dh + sh * oh, wd + kw * dw + sw * ow, c), np.float32)
    big[:, pt:pt + h, pl:pl + wd] = x  # zeros around: a padding tap adds 0 * w (no change)
    xr = np.repeat(big, dm, axis=3)
    acc = np.broadcast_to(b if bias_first else np.zeros_like(b), (n, oh, ow, oc))
    acc = acc.astype(np.float32)
    taps = itertools.product(range(kh), range(kw)) if order == "yx" else \
        ((ky, kx) for kx in range(kw) for ky in range(kh))
    for ky, kx in taps:
        win = xr[:, ky * dh:ky * dh + sh * oh:sh, kx * dw:kx * dw + sw * ow:sw]
        wt = w[0, ky, kx]
        acc = fma_f32(win, wt, acc) if fma else (acc + (win * wt).astype(np.float32))
    return acc if bias_first else (acc + b).astype(np.float32)


def main():
    from bnnkit.convert import convert_model
    from bnnkit.reference import lce_predict
    from bnnkit.tfenv import keras
    from bnnkit.tflite_reader import parse_tflite

    names = [f"{o}{m}{s}" for o, m, s in itertools.product(("yx", "xy"), ("fma", "mul"), "b0")]
    print("fraction of outputs bit-identical with LCE's interpreter")
    print(f"{'case':<44} " + " ".join(f"{k:>7}" for k in names))
    for shape, k, dm, stride, padding, bias, dil, act in CASES:
        rng = np.random.default_rng(0)
        inp = keras.Input(shape)
        layer = keras.layers.DepthwiseConv2D(k, strides=stride, padding=padding.lower(),
                                             depth_multiplier=dm, use_bias=bias,
                                             dilation_rate=dil, activation=act)
        model = keras.Model(inp, layer(inp))
        layer.set_weights([rng.normal(size=v.shape).astype(np.float32)
                           for v in layer.get_weights()])
        fb = convert_model(model)
        g = parse_tflite(fb)
        op = next(o for o in g.ops if o.type == "DEPTHWISE_CONV_2D")
        w = g.tensor(op.inputs[1]).data.astype(np.float32)
        b = (g.tensor(op.inputs[2]).data.astype(np.float32) if len(op.inputs) > 2
             and op.inputs[2] >= 0 else np.zeros(w.shape[-1], np.float32))
        x = rng.normal(size=(10,) + shape).astype(np.float32)
        y = lce_predict(fb, x).reshape((10,) + tuple(model.output_shape[1:]))
        row = []
        for order, fma, bias_first in itertools.product(("yx", "xy"), (1, 0), (1, 0)):
            c = candidate(x, w, b, stride, dil, padding, order, fma, bias_first)
            if act == "relu":
                c = np.maximum(c, np.float32(0))
            row.append(float(np.mean(c.view(np.uint32) == y.view(np.uint32))))
        kk = k if isinstance(k, tuple) else (k, k)
        case = (f"{'x'.join(map(str, shape))} k{kk[0]}x{kk[1]} dm{dm} s{stride[0]}{stride[1]} "
                f"{padding} {'bias' if bias else 'nobias'} d{dil[0]} {act or ''}")
        print(f"{case:<44} " + " ".join(f"{v:>7.4f}" for v in row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
