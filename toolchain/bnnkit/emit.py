"""Code emission: a lowered graph -> a self-contained C project (jinja2 templates).

``generate(model_path, target, out_dir)`` writes model.h, model_data.c, model.c,
the runtime kernels the model uses, the harness and a Makefile. Output is a pure
function of the input: identical input gives byte-identical files.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import metadata
from .errors import BnnkitError
from .lower import Lowered, lower, words
from .memory import Buffer, plan_arena
from .targets import FIRMWARE_DIR, Target, get_target

CONV_OC_BLOCK = 8  # BNN_CONV_OC_BLOCK in bnn_kernels.h
CONV_GROUP = 8  # BNN_CONV_GROUP in bnn_kernels.h

KERNEL_FILES = {
    "conv2d": ["bnn_conv2d_f32.c"],
    "maxpool": ["bnn_maxpool_f32.c"],
    "fc": ["bnn_fc_f32.c"],
    "mul": ["bnn_elementwise_f32.c"],
    "add": ["bnn_elementwise_f32.c"],
    "quantize": ["bnn_quantize.c"],
    "dequantize": ["bnn_dequantize.c"],
    "binary_dense": ["bnn_binary_dense.c", "bnn_popcount.c"],
    "softmax": ["bnn_softmax_f32.c"],
    "bconv2d": ["bnn_bconv2d.c", "bnn_popcount.c"],
    "bmaxpool": ["bnn_bmaxpool.c"],
    "threshold_encode": ["bnn_threshold_encode.c"],
    "reshape": [],
}


@dataclass
class ConstArray:
    name: str
    ctype: str
    values: np.ndarray
    comment: str = ""

    @property
    def nbytes(self) -> int:
        return int(self.values.size * 4)

    def literal_lines(self, per_line: int = 8) -> list[str]:
        flat = self.values.reshape(-1)
        if self.ctype == "float":
            if not np.all(np.isfinite(flat)):
                raise BnnkitError(f"constant {self.comment or self.name} holds inf or NaN")
            # hex floats: exact, no decimal rounding, deterministic
            items = [float(np.float32(v)).hex() + "f" for v in flat]
        elif self.ctype == "uint32_t":
            items = [f"0x{int(v):08x}u" for v in flat.astype(np.uint32)]
        else:
            items = [str(int(v)) for v in flat.astype(np.int64)]
        return [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]


@dataclass
class Program:
    """What the templates render: constants, arena layout and kernel calls."""

    consts: list = field(default_factory=list)
    calls: list = field(default_factory=list)  # (comment, [C statements])
    params: list = field(default_factory=list)  # static parameter structs (C text)
    kernel_files: list = field(default_factory=list)
    arena_bytes: int = 0
    buffers: dict = field(default_factory=dict)  # tensor id -> C expression
    scratch: dict = field(default_factory=dict)  # step index -> C expression of its scratch
    input_floats: int = 0
    output_floats: int = 0


def _prod(shape) -> int:
    return int(np.prod(shape)) if len(shape) else 1


def _same_pad(in_size, k, stride, out_size):
    total = max((out_size - 1) * stride + k - in_size, 0)
    return total // 2


class _Builder:
    def __init__(self, low: Lowered):
        self.low = low
        self.prog = Program()
        self.encoded_shape = {}  # bit-plane tensor -> (h, w, channels) it encodes

    def const(self, prefix: str, ctype: str, values, comment: str) -> str:
        name = f"{prefix}_{len(self.prog.consts):02d}"
        self.prog.consts.append(ConstArray(name, ctype, np.asarray(values),
                                           comment.replace("*/", "* /")))
        return name

    # ------------------------------------------------------------ planning
    def plan(self):
        low = self.low
        alias = {}
        for n in low.nodes:
            if n.kind == "reshape":
                alias[n.outputs[0]] = alias.get(n.inputs[0], n.inputs[0])
        root = lambda t: alias.get(t, t)  # noqa: E731
        first, last = {root(low.input): -1}, {}
        for i, n in enumerate(low.nodes):
            for t in n.outputs:
                first.setdefault(root(t), i)
            for t in n.inputs:
                last[root(t)] = i
        out_root = root(low.output)
        bufs = []
        for t, f in first.items():
            if t == out_root:
                continue
            nbytes = _prod(low.shapes[t]) * 4
            bufs.append(Buffer(str(t), nbytes, f, max(last.get(t, f), f)))
        for i, n in enumerate(low.nodes):
            floats = self.conv_scratch_floats(n)
            if floats:
                bufs.append(Buffer(f"scratch{i}", floats * 4, i, i))
        plan = plan_arena(bufs)
        for i in range(len(low.nodes)):
            if f"scratch{i}" in plan.offsets:
                self.prog.scratch[i] = f"(float *)(bnn_arena + {plan.offsets[f'scratch{i}'] // 4})"
        self.prog.arena_bytes = plan.size
        for t in set(first) | set(alias):
            r = root(t)
            ctype = "float" if low.kinds[t] == "f32" else "uint32_t"
            if r == out_root:
                expr = "scores" if ctype == "float" else "(uint32_t *)scores"
            else:
                expr = f"({ctype} *)(bnn_arena + {plan.offsets[str(r)] // 4})"
            self.prog.buffers[t] = expr
        self.prog.input_floats = _prod(low.shapes[low.input])
        self.prog.output_floats = _prod(low.shapes[low.output])
        if low.kinds[low.output] != "f32":
            raise BnnkitError("the model's output must be float32 scores")

    def buf(self, t):
        return self.prog.buffers[t]

    # ------------------------------------------------------------ nodes
    def emit(self):
        for i, n in enumerate(self.low.nodes):
            stmts = getattr(self, f"_{n.kind}")(i, n)
            comment = f"{n.kind}: {n.name}".replace("*/", "* /")
            self.prog.calls.append((comment, stmts))
            files = KERNEL_FILES[n.kind]
            if n.params.get("planes") and n.kind == "conv2d":
                files = ["bnn_conv2d_planes_f32.c"]
            for f in files:
                if f not in self.prog.kernel_files:
                    self.prog.kernel_files.append(f)
        self.prog.kernel_files.sort()

    def _conv_geometry(self, n):
        """Shapes, strides, padding and pool of a conv2d node, as bnn_conv2d_params wants."""
        if n.params.get("planes"):
            h, w, c = self.encoded_shape[n.inputs[0]]
        else:
            h, w, c = self.low.shapes[n.inputs[0]]
        oc, kh, kw, ic = n.consts["weights"].shape
        sh, sw = n.params["stride"]
        pool = n.params["pool"] or (1, 1)
        oh, ow, _ = self.low.shapes[n.outputs[0]]
        ch, cw = oh * pool[0], ow * pool[1]
        if n.params["padding"] == "SAME":
            conv_h, conv_w = -(-h // sh), -(-w // sw)
            pt, pl = _same_pad(h, kh, sh, conv_h), _same_pad(w, kw, sw, conv_w)
            padded = (conv_h - 1) * sh + kh > h or (conv_w - 1) * sw + kw > w
        else:
            conv_h, conv_w = (h - kh) // sh + 1, (w - kw) // sw + 1
            pt = pl = 0
            padded = False
        if (ch, cw) != (conv_h // pool[0] * pool[0], conv_w // pool[1] * pool[1]) or ic != c:
            raise BnnkitError(f"{n.name}: inconsistent convolution shapes")
        return dict(h=h, w=w, c=c, oc=oc, kh=kh, kw=kw, sh=sh, sw=sw, pt=pt, pl=pl,
                    conv_h=conv_h, conv_w=conv_w, pool=pool, padded=padded)

    def conv_scratch_floats(self, n) -> int:
        """Floats of zero-padded input window bnn_conv2d_f32 needs (0: none).

        Mirrors bnn_conv2d_f32_scratch_floats(): a group of CONV_GROUP positions
        is as many whole pool windows side by side as fit (a run along a row
        without pooling), or a part of one larger window."""
        if n.kind != "conv2d" or n.params.get("planes"):
            return 0
        g = self._conv_geometry(n)
        if not g["padded"]:
            return 0
        pool_h, pool_w = g["pool"]
        windows = max(CONV_GROUP // (pool_h * pool_w), 1)  # whole pool windows per group
        span_w = windows * pool_w
        return ((g["kh"] + (pool_h - 1) * g["sh"]) * (g["kw"] + (span_w - 1) * g["sw"])
                * g["c"])

    def _conv2d(self, i, n):
        g = self._conv_geometry(n)
        oc, kh, kw, ic = n.consts["weights"].shape
        padded_oc = -(-oc // CONV_OC_BLOCK) * CONV_OC_BLOCK
        hwio = np.zeros((kh, kw, ic, padded_oc), np.float32)
        hwio[..., :oc] = n.consts["weights"].transpose(1, 2, 3, 0)
        bias = np.zeros(padded_oc, np.float32)
        bias[:oc] = n.consts["bias"]
        wn = self.const("conv_w", "float", hwio,
                        f"{n.name} filter [{kh}][{kw}][{ic}][{padded_oc}] HWIO, O padded")
        bn = self.const("conv_b", "float", bias, f"{n.name} bias [{padded_oc}], padded")
        pname = f"conv_p{i:02d}"
        pool = g["pool"]
        self.prog.params.append(
            f"static const bnn_conv2d_params {pname} = {{{g['h']}, {g['w']}, {g['c']}, {oc}, "
            f"{kh}, {kw}, {g['sh']}, {g['sw']}, {g['pt']}, {g['pl']}, {g['conv_h']}, "
            f"{g['conv_w']}, {pool[0]}, {pool[1]}, {int(n.params['relu'])}}};")
        src, dst = self.buf(n.inputs[0]), self.buf(n.outputs[0])
        if n.params.get("planes"):
            return [f"bnn_conv2d_planes_f32(&{pname}, {src}, {wn}, {bn}, {dst});"]
        scratch = self.prog.scratch.get(i, "NULL")
        return [f"bnn_conv2d_f32(&{pname}, {src}, {wn}, {bn}, {scratch}, {dst});"]

    def _threshold_encode(self, i, n):
        shape = self.low.shapes[n.inputs[0]]
        pixels = _prod(shape)
        channels = n.consts["lower"].size
        lo = self.const("enc_lo", "float", n.consts["lower"], f"{n.name}: channel lower bounds")
        hi = self.const("enc_hi", "float", n.consts["upper"], f"{n.name}: channel upper bounds")
        if n.params["planes"]:
            self.encoded_shape[n.outputs[0]] = tuple(shape[:2]) + (channels,)
            return [f"bnn_threshold_encode_planes({self.buf(n.inputs[0])}, {pixels}, {lo}, {hi}, "
                    f"{channels}, {self.buf(n.outputs[0])});"]
        return [f"bnn_threshold_encode_f32({self.buf(n.inputs[0])}, {pixels}, {lo}, {hi}, "
                f"{channels}, {self.buf(n.outputs[0])});"]

    def _pool_geometry(self, n) -> str:
        """in_h, in_w, channels, filter, stride, padding, out size: the fields the
        float and binary max-pool parameter structs share, as C initializers."""
        h, w, c = self.low.shapes[n.inputs[0]]
        oh, ow = self.low.shapes[n.outputs[0]][:2]
        if self.low.kinds[n.inputs[0]] == "bits":
            c *= 32  # packed words: BNN_WORDS() of this gives the same word count back
        fh, fw = n.params["filter"]
        sh, sw = n.params["stride"]
        if n.params["padding"] == "SAME":
            pt, pl = _same_pad(h, fh, sh, oh), _same_pad(w, fw, sw, ow)
        else:
            pt = pl = 0
        return f"{h}, {w}, {c}, {fh}, {fw}, {sh}, {sw}, {pt}, {pl}, {oh}, {ow}"

    def _maxpool(self, i, n):
        pname = f"pool_p{i:02d}"
        self.prog.params.append(f"static const bnn_maxpool_params {pname} = "
                                f"{{{self._pool_geometry(n)}, {int(n.params['relu'])}}};")
        return [f"bnn_maxpool_f32(&{pname}, {self.buf(n.inputs[0])}, {self.buf(n.outputs[0])});"]

    def _fc(self, i, n):
        w = n.consts["weights"]
        n_out, n_in = w.shape
        if _prod(self.low.shapes[n.inputs[0]]) != n_in:
            raise BnnkitError(f"{n.name}: batched fully connected input is not supported")
        wn = self.const("fc_w", "float", np.ascontiguousarray(w.T),
                        f"{n.name} weights [{n_in}][{n_out}], input-major")
        bn = self.const("fc_b", "float", n.consts["bias"], f"{n.name} bias")
        return [f"bnn_fc_f32({self.buf(n.inputs[0])}, {n_in}, {wn}, {bn}, {n_out}, "
                f"{int(n.params['relu'])}, {self.buf(n.outputs[0])});"]

    def _elementwise(self, n, kind):
        size = _prod(self.low.shapes[n.outputs[0]])
        relu = int(n.params.get("relu", False))
        if "values" in n.consts:
            vals = n.consts["values"]
            cn = self.const(f"{kind}_c", "float", vals, f"{n.name} per-channel constant")
            return [f"bnn_{kind}_const_f32({self.buf(n.inputs[0])}, {size}, {cn}, {vals.size}, "
                    f"{relu}, {self.buf(n.outputs[0])});"]
        a, b = n.inputs
        return [f"bnn_binary_op_f32({self.buf(a)}, {self.buf(b)}, {size}, {int(kind == 'mul')}, "
                f"{relu}, {self.buf(n.outputs[0])});"]

    def _mul(self, i, n):
        return self._elementwise(n, "mul")

    def _add(self, i, n):
        return self._elementwise(n, "add")

    def _quantize(self, i, n):
        shape = self.low.shapes[n.inputs[0]]
        channels = shape[-1] if shape else 1
        outer = _prod(shape) // channels
        args = []
        for kind in ("mul", "add"):
            if kind in n.consts:
                args.append(self.const(f"bn_{kind}", "float", n.consts[kind],
                                       f"{n.name}: batch norm {kind} before the sign"))
            else:
                args.append("0")
        return [f"bnn_quantize_f32({self.buf(n.inputs[0])}, {outer}, {channels}, {args[0]}, "
                f"{args[1]}, {self.buf(n.outputs[0])});"]

    def _dequantize(self, i, n):
        shape = self.low.shapes[n.outputs[0]]
        channels = shape[-1] if shape else 1
        return [f"bnn_dequantize({self.buf(n.inputs[0])}, {_prod(shape) // channels}, "
                f"{channels}, {self.buf(n.outputs[0])});"]

    def _binary_dense(self, i, n):
        n_in, n_out = n.params["n_in"], n.params["n_out"]
        wn = self.const("bin_w", "uint32_t", n.consts["weights"],
                        f"{n.name}: {n_out} rows x {words(n_in)} words, 1 bit per weight")
        if n.params["output"] == "float":
            sn = self.const("bin_scale", "float", n.consts["scale"], f"{n.name}: |w| per row")
            bn = self.const("bin_bias", "float", n.consts["bias"], f"{n.name}: bias")
            return [f"bnn_binary_dense_f32({self.buf(n.inputs[0])}, {n_in}, {wn}, {sn}, {bn}, "
                    f"{n_out}, {int(n.params.get('relu', False))}, {self.buf(n.outputs[0])});"]
        tn = self.const("bin_thr", "int32_t", n.consts["threshold"],
                        f"{n.name}: output bit = popcount > threshold")
        fn = "0"
        if "flip" in n.consts:
            fn = self.const("bin_flip", "uint32_t", n.consts["flip"],
                            f"{n.name}: outputs whose test is flipped (negative scale)")
        return [f"bnn_binary_dense_bits({self.buf(n.inputs[0])}, {n_in}, {wn}, {tn}, {fn}, "
                f"{n_out}, {self.buf(n.outputs[0])});"]

    def _softmax(self, i, n):
        size = _prod(self.low.shapes[n.outputs[0]])
        beta = float(np.float32(n.params["beta"])).hex() + "f"
        return [f"bnn_softmax_f32({self.buf(n.inputs[0])}, {size}, {beta}, "
                f"{self.buf(n.outputs[0])});"]

    def _bconv2d(self, i, n):
        h, w, _ = self.low.shapes[n.inputs[0]]
        oh, ow = self.low.shapes[n.outputs[0]][:2]
        kh, kw = n.params["kernel"]
        sh, sw = n.params["stride"]
        dh, dw = n.params["dilation"]
        if n.params["padding"] == "SAME":
            pt = _same_pad(h, (kh - 1) * dh + 1, sh, oh)
            pl = _same_pad(w, (kw - 1) * dw + 1, sw, ow)
        else:
            pt = pl = 0
        lo, hi = n.params["clamp"]
        oc, ic = n.params["out_channels"], n.params["channels_in"]
        pname = f"bconv_p{i:02d}"
        self.prog.params.append(
            f"static const bnn_bconv2d_params {pname} = {{{h}, {w}, {ic}, {oc}, {kh}, {kw}, "
            f"{sh}, {sw}, {dh}, {dw}, {pt}, {pl}, {oh}, {ow}, {int(n.params['one_padding'])}, "
            f"{lo if lo > -2**31 else 'INT32_MIN'}, {hi if hi < 2**31 - 1 else 'INT32_MAX'}}};")
        wn = self.const("bconv_w", "uint32_t", n.consts["weights"],
                        f"{n.name}: OHWI, I packed 1 bit per weight ({ic} channels)")
        src, dst = self.buf(n.inputs[0]), self.buf(n.outputs[0])
        if n.params["output"] == "bits":
            tn = self.const("bconv_thr", "int32_t", n.consts["threshold"],
                            f"{n.name}: output bit = popcount > threshold")
            return [f"bnn_bconv2d_bits(&{pname}, {src}, {wn}, {tn}, {dst});"]
        mn = self.const("bconv_mul", "float", n.consts["multiplier"], f"{n.name}: multiplier")
        bn = self.const("bconv_bias", "float", n.consts["bias"], f"{n.name}: bias")
        return [f"bnn_bconv2d_f32(&{pname}, {src}, {wn}, {mn}, {bn}, {dst});"]

    def _bmaxpool(self, i, n):
        pname = f"bpool_p{i:02d}"
        self.prog.params.append(f"static const bnn_bmaxpool_params {pname} = "
                                f"{{{self._pool_geometry(n)}}};")
        return [f"bnn_bmaxpool(&{pname}, {self.buf(n.inputs[0])}, {self.buf(n.outputs[0])});"]

    def _reshape(self, i, n):
        return []  # shares its input's memory


def build_program(low: Lowered) -> Program:
    b = _Builder(low)
    b.plan()
    b.emit()
    return b.prog


def _env():
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(FIRMWARE_DIR / "templates")),
                              keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
                              undefined=jinja2.StrictUndefined)


def load_graph(model_path: Path):
    """A .tflite is read directly; a .h5 is converted with LCE on the way."""
    from .tflite_reader import parse_tflite, read_tflite

    if model_path.suffix == ".h5":
        from .convert import check_ops, convert_model, load_keras

        flatbuffer = convert_model(load_keras(model_path), str(model_path))
        check_ops(flatbuffer, str(model_path))
        return parse_tflite(flatbuffer, str(model_path)), flatbuffer
    if not model_path.is_file():
        raise BnnkitError(f"{model_path}: no such file")
    graph = read_tflite(model_path)
    return graph, model_path.read_bytes()


@dataclass
class Generated:
    out_dir: Path
    program: Program
    meta: dict
    target: Target
    flatbuffer: bytes

    @property
    def model_bytes(self) -> int:
        return sum(c.nbytes for c in self.program.consts)


GENERATED_MARK = "Generated by bnnkit"


def _is_generated(out_dir: Path) -> bool:
    header = out_dir / "model.h"
    try:
        return header.is_file() and GENERATED_MARK in header.read_text()[:200]
    except (OSError, UnicodeDecodeError):
        return False


def generate(model_path, target_name: str, out_dir, flash_kib=None, ram_kib=None) -> Generated:
    """Lower ``model_path`` and write the C project for ``target_name`` into ``out_dir``.

    Everything is rendered into a temporary directory first and moved into place
    only when complete, so a failure leaves nothing half-written.
    """
    model_path = Path(model_path)
    target = get_target(target_name)
    graph, flatbuffer = load_graph(model_path)
    meta = metadata.load(model_path)
    low = lower(graph, str(model_path))
    prog = build_program(low)
    gen = Generated(Path(out_dir), prog, meta, target, flatbuffer)
    target.check_budget(gen, str(model_path), flash_kib, ram_kib)

    env = _env()
    scale = float(np.float32(meta["preprocessing"]["scale"]))
    context = {
        "model_name": model_path.stem,
        "source": model_path.name,
        "prog": prog,
        "meta": meta,
        "target": target,
        "scale_hex": scale.hex() + "f",
        "model_bytes": gen.model_bytes,
        "class_names": meta.get("class_names") or [str(i) for i in range(prog.output_floats)],
        "arena_words": max(1, (prog.arena_bytes + 3) // 4),
        "input_id": low.input,
    }
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()) and not _is_generated(out_dir):
        raise BnnkitError(f"{out_dir}: exists and is not a bnnkit project; choose another -o")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".bnnkit-", dir=out_dir.parent))
    try:
        for template, name in (("model.h.j2", "model.h"), ("model.c.j2", "model.c"),
                               ("model_data.h.j2", "model_data.h"),
                               ("model_data.c.j2", "model_data.c")):
            (staging / name).write_text(env.get_template(template).render(**context))
        (staging / "Makefile").write_text(
            env.get_template(f"Makefile.{target.makefile}.j2").render(**context))
        kernels = FIRMWARE_DIR / "kernels"
        for f in ["bnn_kernels.h"] + prog.kernel_files:
            shutil.copyfile(kernels / f, staging / f)
        for f in sorted((FIRMWARE_DIR / "harness").iterdir()):
            shutil.copyfile(f, staging / f.name)
        for f in sorted((FIRMWARE_DIR / "boards" / target.board).iterdir()):
            shutil.copyfile(f, staging / f.name)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return gen
