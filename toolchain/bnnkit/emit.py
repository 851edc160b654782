"""Code emission: a lowered graph -> a self-contained C project (jinja2 templates).

``generate(model_path, target, out_dir)`` writes model.h, model_data.c, model.c,
the runtime kernels the model uses, the harness and a Makefile. Output is a pure
function of the input: identical input gives byte-identical files.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from . import metadata, outdir, preprocess
from .errors import BnnkitError
from .kernel_structs import initializer
from .lower import Lowered, lower
from .memory import Buffer, check_in_place, low_peak_order, plan_arena
from .ops import op_kind, prod
from .targets import COMMON_CFLAGS, RUNTIME_DIR, Target, get_target

C_SIZES = {"float": 4, "uint32_t": 4, "int32_t": 4, "uint16_t": 2, "int8_t": 1}
# buffer kind -> (C element type, arena union member, bytes per element)
KIND_C = {"f32": ("float", "f", 4), "bits": ("uint32_t", "u", 4), "i8": ("int8_t", "s8", 1)}


@dataclass
class ConstArray:
    name: str
    ctype: str
    values: np.ndarray
    comment: str = ""

    @property
    def nbytes(self) -> int:
        return int(self.values.size * C_SIZES[self.ctype])

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
    kernel_headers: list = field(default_factory=list)  # headers of kernels that have their own
    support_headers: list = field(default_factory=list)  # inline helpers kernels include
    arena_bytes: int = 0
    buffers: dict = field(default_factory=dict)  # tensor id -> C expression
    regions: list = field(default_factory=list)  # (macro, arena offset in words, words)
    scratch: dict = field(default_factory=dict)  # step index -> region macro of its scratch
    input_floats: int = 0
    output_floats: int = 0
    planned: list = field(default_factory=list)  # the arena's Buffers (name, bytes, first, last)
    in_place: list = field(default_factory=list)  # (step, output, input): output over input
    layer_consts: list = field(default_factory=list)  # per step: its constants' bytes


def tensor_bytes(low: Lowered, t) -> int:
    """Bytes of tensor ``t`` in the arena: its elements, whole words."""
    return 4 * -(-prod(low.shapes[t]) * KIND_C[low.kinds[t]][2] // 4)


def _follow(links: dict, t):
    """Where a chain of ``links`` (tensor -> tensor) from ``t`` ends."""
    while t in links:
        t = links[t]
    return t


class Builder:
    """Plans the arena, then asks each node's op kind for its C call.

    Op kinds use :meth:`const` (a constant array in model_data.c), :meth:`param`
    (a static parameter struct in model.c), :meth:`buf` (the C expression of a
    tensor's memory), :meth:`size` and :meth:`scratch`."""

    def __init__(self, low: Lowered, target: Target | None = None, prefix: str = "",
                 in_place: str = "all"):
        self.low = low
        # "all" that the kernels permit, "same-size" (an output as large as the
        # input it takes over), or "none": one buffer per tensor (views aside)
        self.in_place_policy = in_place
        self.prog = Program()
        self.prefix = prefix  # the library's name and "_": constants are exported symbols
        # Cortex-M constant layouts (the library says so: library_layout)
        self.small_core = bool(library_layout(target)["BNN_SMALL_CORE"])

    def const(self, prefix: str, ctype: str, values, comment: str) -> str:
        name = f"{self.prefix}{prefix}_{len(self.prog.consts):02d}"
        self.prog.consts.append(ConstArray(name, ctype, np.asarray(values),
                                           comment.replace("*/", "* /")))
        return name

    def param(self, c_text: str) -> None:
        self.prog.params.append(c_text)

    def struct(self, ctype: str, name: str, **fields) -> None:
        """A ``static const`` kernel parameter struct, every field by name (the
        order comes from the kernel header's typedef: kernel_structs)."""
        self.param(f"static const {ctype} {name} = {initializer(ctype, **fields)};")

    def buf(self, t) -> str:
        return self.prog.buffers[t]

    def size(self, t) -> int:
        """Elements of tensor ``t`` (words for bit-packed tensors' shapes)."""
        return prod(self.low.shapes[t])

    def scratch(self, i, ctype: str = "float") -> str:
        """The C expression of step ``i``'s scratch as ``ctype`` (float or
        uint32_t), or NULL if it has none."""
        macro = self.prog.scratch.get(i)
        return f"{macro}({'f' if ctype == 'float' else 'u'})" if macro else "NULL"

    # ------------------------------------------------------------ planning
    def in_place(self):
        """Which tensors use another's memory: {tensor: tensor whose memory it
        takes}. A RESHAPE's output is a view of its input. An output takes over
        an input its kernel permits (``OpKind.in_place_inputs``) when that
        input's memory is read by no later step; not the model's output, which
        is the caller's ``scores``. Also returns the views, {tensor: (first,
        last) step} and the (step, output, input) triples chosen, for
        check_in_place."""
        low = self.low
        views = {n.outputs[0]: n.inputs[0] for n in low.nodes if n.kind == "reshape"}
        alias = dict(views)
        root = lambda t: _follow(alias, t)  # noqa: E731  the tensor whose memory t uses
        lives = {low.input: [-1, -1]}
        for i, n in enumerate(low.nodes):
            for t in n.outputs:
                lives.setdefault(t, [i, i])
            for t in n.inputs:
                lives[t][1] = i
        # a view is read whenever its viewers are: fold their reads into the base
        for t in sorted(alias, key=lambda t: -lives[t][0]):
            lives[alias[t]][1] = max(lives[alias[t]][1], lives[t][1])
        out_root = root(low.output)
        last = {}  # root -> last step reading its memory
        for t, (_, t_last) in lives.items():
            last[root(t)] = max(last.get(root(t), -1), t_last)
        chosen = set()
        for i, n in enumerate(low.nodes):
            if n.kind == "reshape" or len(n.outputs) != 1:
                continue
            o = n.outputs[0]
            if root(o) == out_root or o in alias:
                continue
            for k in (op_kind(n.kind).in_place_inputs(n, low)
                      if self.in_place_policy != "none" else ()):
                x = root(n.inputs[k])
                if (self.in_place_policy == "same-size"
                        and tensor_bytes(low, o) != tensor_bytes(low, x)):
                    continue
                if x != out_root and last.get(x) == i:
                    shown = _follow(views, n.inputs[k])  # the tensor a view shows
                    alias[o] = shown
                    last[x] = max(last[x], last.get(o, i))
                    chosen.add((i, o, shown))
                    break
        return alias, views, {t: tuple(v) for t, v in lives.items()}, chosen

    def plan(self):
        low = self.low
        alias, views, lives, chosen = self.in_place()
        # views share their base's life; every other sharing must be one the kernel permits
        check_in_place({t: v for t, v in lives.items() if t not in views},
                       {t: x for t, x in alias.items() if t not in views}, chosen)
        root = lambda t: _follow(alias, t)  # noqa: E731
        first, last, nbytes = {}, {}, {}
        for t, (t_first, t_last) in lives.items():
            r = root(t)
            first[r] = min(first.get(r, t_first), t_first)
            last[r] = max(last.get(r, t_last), t_last)
            nbytes[r] = max(nbytes.get(r, 0), tensor_bytes(low, t))
        self.prog.in_place = sorted(chosen)
        out_root = root(low.output)
        bufs = []
        for t, f in first.items():
            if t == out_root:
                continue
            bufs.append(Buffer(str(t), nbytes[t], f, max(last[t], f)))
        for i, n in enumerate(low.nodes):
            nbytes = op_kind(n.kind).scratch_bytes(self, n)
            if nbytes:
                bufs.append(Buffer(f"scratch{i}", nbytes, i, i))
        plan = plan_arena(bufs)
        self.prog.planned = bufs
        # Regions in first-use order: their names (BNN_R<k>) are stable for the same model.
        region = {}
        for k, buf in enumerate(sorted(bufs, key=lambda b: (b.first, b.name))):
            region[buf.name] = f"BNN_R{k}"
            self.prog.regions.append((f"BNN_R{k}", plan.offsets[buf.name] // 4,
                                      max(1, (buf.nbytes + 3) // 4)))
        for i in range(len(low.nodes)):
            if f"scratch{i}" in plan.offsets:
                self.prog.scratch[i] = region[f"scratch{i}"]
        self.prog.arena_bytes = plan.size
        output_ctype = KIND_C[low.kinds[out_root]][0]
        for t in lives:
            r = root(t)
            ctype, member, _ = KIND_C[low.kinds[t]]
            if r == out_root:
                expr = "scores" if ctype == output_ctype else f"({ctype} *)scores"
            else:
                expr = f"{region[str(r)]}({member})"
            self.prog.buffers[t] = expr
        self.prog.input_floats = prod(low.shapes[low.input])
        self.prog.output_floats = prod(low.shapes[low.output])

    # ------------------------------------------------------------ nodes
    def emit(self):
        for i, n in enumerate(self.low.nodes):
            kind = op_kind(n.kind)
            start = len(self.prog.consts)
            stmts = kind.emit(self, i, n)
            self.prog.layer_consts.append(sum(c.nbytes for c in self.prog.consts[start:]))
            comment = f"{n.kind}: {n.name}".replace("*/", "* /")
            self.prog.calls.append((comment, stmts))
            for f in kind.kernel_files(n):
                if f not in self.prog.kernel_files:
                    self.prog.kernel_files.append(f)
        self.prog.kernel_files.sort()
        kernels = RUNTIME_DIR / "kernels"
        self.prog.kernel_headers = [f[:-2] + ".h" for f in self.prog.kernel_files
                                    if (kernels / (f[:-2] + ".h")).is_file()]
        # headers a kernel or its header includes without a .c of their own
        # (bnn_requant.h; bnn_elementwise_s8.h for a conv with its ADD fused), transitively
        seen, todo = set(), list(self.prog.kernel_files) + list(self.prog.kernel_headers)
        while todo:
            for h in re.findall(r'#include "(bnn_\w+\.h)"', (kernels / todo.pop()).read_text()):
                if h not in seen:
                    seen.add(h)
                    todo.append(h)
        self.prog.support_headers = sorted(seen - set(self.prog.kernel_headers)
                                           - {"bnn_kernels.h"})


def _lower_and_plan(graph, source: str, target: Target | None = None, prefix: str = "",
                    disabled_passes=(), reference: str | None = None, in_place: bool = True):
    """Lower and plan; every failure is one error naming ``source``. The checks
    of lowering should refuse any inconsistent model; what slips past them is
    still an error about the file, never a traceback, and says so.
    ``in_place=False``: one buffer per tensor, in the model's order."""
    try:
        low = lower(graph, source, disabled_passes, reference=reference)
        return low, build_program(low, target, prefix, in_place)
    except BnnkitError as exc:
        if str(exc).startswith(source):
            raise
        raise BnnkitError(f"{source}: {exc}", exc.exit_code) from None
    except (KeyError, IndexError, TypeError, ValueError, ZeroDivisionError, AttributeError,
            OverflowError, MemoryError) as exc:
        raise BnnkitError(f"{source}: inconsistent model that bnnkit's checks missed "
                          f"({type(exc).__name__}: {exc})") from None


def build_program(low: Lowered, target: Target | None = None, prefix: str = "",
                  in_place: bool = True) -> Program:
    """Plan and emit ``low``: of the steps in the order given or in the order
    :func:`bnnkit.memory.low_peak_order` proposes, each with every in-place
    write the kernels permit, only those whose output is as large as the input
    it takes over (a small output over a large input keeps the large buffer
    alive), or none, the plan with the smallest arena (the first listed on
    ties: deterministic). ``low.nodes`` is put in the chosen order, so every
    later reader (analyze, profile) sees the steps as the C runs them.
    ``in_place=False`` plans one buffer per tensor in the given order (to
    compare with)."""
    for n in low.nodes:  # per-target choices, once, before anything reads them
        op_kind(n.kind).prepare(n, low, target)
    nbytes = {t: tensor_bytes(low, t) for t in low.shapes}
    order = low_peak_order([(n.inputs, n.outputs) for n in low.nodes], nbytes, keep={low.output})
    orders = [list(low.nodes)]
    if in_place and order != sorted(order):
        orders.append([low.nodes[i] for i in order])
    best = None
    for policy in (("all", "same-size", "none") if in_place else ("none",)):
        for nodes in orders:
            b = Builder(replace(low, nodes=nodes), target, prefix, policy)
            b.plan()
            if best is None or b.prog.arena_bytes < best[0]:
                best = (b.prog.arena_bytes, nodes, policy)
    _, nodes, policy = best
    low.nodes[:] = nodes
    b = Builder(low, target, prefix, policy)
    b.plan()
    b.emit()
    return b.prog


def c_comment(text) -> str:
    r"""Text safe inside a C block comment: one line, printable ASCII, no ``*/``.

    Example:
        >>> c_comment("a */ b\n#define X")
        'a * / b?#define X'
    """
    safe = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in str(text))
    while "*/" in safe or "/*" in safe:
        safe = safe.replace("*/", "* /").replace("/*", "/ *")
    return safe


def c_string(text) -> str:
    r"""A C string literal of ``text``: printable ASCII kept, everything else
    (quotes, backslashes, newlines, non-ASCII) as octal escapes; no trigraphs.

    Example:
        >>> print(c_string('say "hi"?'))
        "say \042hi\042\077"
    """
    out = []
    for byte in str(text).encode("utf-8"):
        ch = chr(byte)
        out.append(ch if 32 <= byte < 127 and ch not in '"\\?' else f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def _env():
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(RUNTIME_DIR / "templates")),
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined, autoescape=False)
    env.filters["c_comment"] = c_comment
    env.filters["c_string"] = c_string
    env.filters["hex_float"] = lambda v: float(np.float32(v)).hex() + "f"  # exact float32
    return env


def load_graph(model_path: Path):
    """A .tflite is read directly; a .h5 is converted with LCE on the way (once:
    :func:`bnnkit.convert.converted_flatbuffer` caches it by content)."""
    from .tflite_reader import parse_tflite, read_tflite

    if model_path.suffix == ".h5":
        from .convert import converted_flatbuffer

        if not model_path.is_file():
            raise BnnkitError(f"{model_path}: no such file")
        flatbuffer = converted_flatbuffer(model_path)  # cached by content
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

    input_shape: tuple = ()
    output_bits: bool = False
    replaced: list = field(default_factory=list)  # user files replaced (--force)
    low: Lowered | None = None  # the lowered network the project computes
    name: str = "model"  # the library's name: its folder, files and symbol prefix
    has_app: bool = True  # an example application in out_dir/app
    linked: dict | None = None  # the linked firmware's figures, when generate checked them
    io_float: bool = False  # an int8 model's API in float32 (--io float)

    @property
    def lib_dir(self) -> Path:
        """The library: NAME.h, NAME.c, NAME_data.c, kernels, CMakeLists.txt, NAME.mk."""
        return self.out_dir / self.name

    @property
    def app_dir(self) -> Path:
        """The example application: harness, board support, Makefile."""
        return self.out_dir / "app"

    @property
    def model_bytes(self) -> int:
        return sum(c.nbytes for c in self.program.consts)

    @property
    def input_quant(self):
        """(scale, zero_point) of an int8 model input, else None."""
        low = self.low
        return low.quant.get(low.input) if low is not None and low.quant else None

    @property
    def output_kind(self) -> str:
        """What NAME_run writes: "f32" scores, "i8" int8 scores or "bits" words."""
        kind = self.low.kinds[self.low.output]
        return "f32" if self.io_float and kind == "i8" else kind

    @property
    def output_quant(self):
        """(scale, zero_point) of an int8 model output, else None."""
        low = self.low
        return low.quant.get(low.output) if low is not None and low.quant else None

    def api_outputs(self, model_outputs: np.ndarray) -> np.ndarray:
        """The model's own outputs (as its reference interpreter gives them) as NAME_run
        returns them: with --io float an int8 output becomes float32
        ``float32(q - zero_point) * scale``, one rounding.

        Example:
            >>> gen.api_outputs(np.int8([[-128, 0]]))  # doctest: +SKIP
            array([[0.  , 0.5]], dtype=float32)    # scale 1/256, zero point -128
        """
        if self.io_float and self.low.kinds[self.low.output] == "i8":
            scale, zp = self.output_quant
            return ((model_outputs.astype(np.int64) - zp).astype(np.float32)
                    * np.float32(scale))
        return model_outputs

    @property
    def input_dtype(self):
        """What the generated API reads: uint8 pixels, or the model's own float32
        or int8 values."""
        if preprocess.is_uint8(self.meta["preprocessing"]):
            return np.uint8
        return np.int8 if self.input_quant is not None and not self.io_float else np.float32


_C_KEYWORDS = frozenset(
    "auto break case char const continue default do double else enum extern float for goto if "
    "inline int long register restrict return short signed sizeof static struct switch typedef "
    "union unsigned void volatile while _Bool _Complex _Imaginary main".split())
# the example application's folder and its files beside the library's header
_APP_NAMES = frozenset(("app", "board", "startup"))
# headers a build may include by name: NAME/NAME.h is found first on the include
# path (-I NAME), so a library named like one would replace it (C99/C11, POSIX's
# and the compilers' that the runtime or a user's code includes)
_HEADER_NAMES = frozenset(
    "assert complex ctype errno fenv float inttypes iso646 limits locale math setjmp signal "
    "stdalign stdarg stdatomic stdbool stddef stdint stdio stdlib stdnoreturn string tgmath "
    "threads time uchar wchar wctype unistd fcntl strings alloca malloc memory arm_acle "
    "arm_neon arm_math cmsis_compiler immintrin x86intrin riscv_vector".split())


def check_library_name(name: str) -> str:
    """``name`` if it can prefix C symbols: a C identifier of at most 32
    characters, not a keyword, not starting with ``bnn`` (bnnkit's own).

    Example:
        >>> check_library_name("kws")
        'kws'
        >>> check_library_name("2net")
        Traceback (most recent call last):
        bnnkit.errors.BnnkitError: --name 2net: not a C identifier (letters, digits and _, not starting with a digit)
    """
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name or ""):
        raise BnnkitError(f"--name {name}: not a C identifier (letters, digits and _, not "
                          "starting with a digit)")
    if (len(name) > 32 or name in _C_KEYWORDS or name.lower() in _APP_NAMES
            or name.lower().startswith(("bnn", "app_"))):
        raise BnnkitError(f"--name {name}: choose another name (at most 32 characters, not a C "
                          "keyword, not app, board or startup, not starting with bnn or app_)")
    if name.lower() in _HEADER_NAMES:
        raise BnnkitError(f"--name {name}: the name of a C header ({name}.h): the library's "
                          "header would replace it in every build; choose another name")
    return name


def library_name(model_path: Path) -> str:
    """The default library name: the model file's stem as a lower-case C
    identifier.

    Example:
        >>> library_name(Path("models/LeNet-bin3.v2.tflite"))
        'lenet_bin3_v2'
    """
    stem = re.sub(r"[^a-z0-9_]+", "_", model_path.stem.lower()).strip("_") or "model"
    if (stem[0].isdigit() or stem.startswith(("bnn", "app_")) or stem in _C_KEYWORDS
            or stem in _APP_NAMES or stem in _HEADER_NAMES):
        stem = "m_" + stem
    return stem[:32].rstrip("_")


def library_layout(target) -> dict:
    """The layout macros a library's kernels read, as the generator chose them
    for ``target``: written into the library (its ``bnn_kernels.h``), never
    inferred from the compiler that builds it.

    Example:
        >>> library_layout(get_target("cortex-m4")), library_layout(get_target("host"))
        ({'BNN_SMALL_CORE': 1}, {'BNN_SMALL_CORE': 0})
    """
    return {"BNN_SMALL_CORE": int(bool(target and target.small_core))}


def _library_kernels_h(name: str, kernel_files: list, layout: dict) -> str:
    """bnn_kernels.h for the library ``name``: every kernel function the
    library defines renamed ``name_bnn_...`` (two libraries in one firmware
    then never define the same symbol), and the ``layout`` macros its
    constants were stored for."""
    kernels = RUNTIME_DIR / "kernels"
    symbols, macros = set(), set()
    for f in ["bnn_kernels.h"] + kernel_files:
        text = (kernels / f).read_text()
        macros.update(re.findall(r"^\s*#\s*define\s+(bnn_\w+)", text, re.M))
        for line in text.splitlines():  # external declarations and definitions
            m = re.match(r"[A-Za-z_][\w \t*]*?\b(bnn_\w+)\s*\(", line)
            if m and not re.search(r"\bstatic\b|\bBNN_INLINE\b", line[:m.start(1)]):
                symbols.add(m.group(1))
    symbols -= macros
    renames = "".join(f"#define {s} {name}_{s}\n" for s in sorted(symbols))
    text = (kernels / "bnn_kernels.h").read_text()
    marker = "/* @bnnkit-library-names@ (a generated library renames its kernels here) */\n"
    if marker not in text:
        raise BnnkitError("runtime/kernels/bnn_kernels.h: its library-names marker is missing")
    macros = "".join(f"#define {k} {v}\n" for k, v in sorted(layout.items()))
    return text.replace(marker, f"/* the {name} library's names for its kernels */\n{renames}"
                        f"/* the layout of the {name} library's constants (the kernels read it) */"
                        f"\n{macros}")


def _check_linked(gen, staging: Path, source: str, flash_kib, ram_kib) -> dict:
    """Check the staged example firmware, linked, against the budget (see
    :func:`generate`)."""
    from .device import linked_estimate

    try:
        figures = linked_estimate(gen, staging)
    except BnnkitError as exc:  # name the project the user asked for, not the staging copy
        raise BnnkitError(str(exc).replace(str(staging), str(gen.out_dir)), exc.exit_code) \
            from None
    gen.target.check_firmware(figures, source, flash_kib, ram_kib, figures["stack_source"])
    return figures


def _pixel_map(spec: dict, scale: float, zero_point: int):
    """How a uint8 pixel becomes the int8 model input: the preprocessing then
    TFLite's quantization, tabulated. An int offset k when every pixel p maps
    to p + k (the usual 1/255 scale with zero point -128 gives -128), else the
    256-entry table, or with per-channel mean/std one 256-entry table per
    channel (channel c's at c * 256)."""
    pixels = np.arange(256, dtype=np.uint8).reshape(256, 1)
    channels = len(spec.get("mean", [0]))
    tables = [preprocess.apply(dict(spec, mean=[spec["mean"][c]], std=[spec["std"][c]])
                               if "mean" in spec else spec, pixels, (1,),
                               quant=(scale, zero_point)).reshape(256).astype(np.int64)
              for c in range(channels)]
    k = int(tables[0][0])
    if channels == 1 and np.array_equal(tables[0], np.arange(256) + k):
        return k
    return np.concatenate(tables).astype(np.int8)


def generate(model_path, target_name: str, out_dir, flash_kib=None, ram_kib=None,
             input_spec: dict | None = None, force: bool = False, name: str | None = None,
             arena: str = "static", app: bool = True, check_linked: bool = False,
             check_budget: bool = True, disabled_passes=(), class_names=None,
             io: str = "model", reference: str | None = None) -> Generated:
    """Lower ``model_path`` and write the C library for ``target_name`` into
    ``out_dir/NAME/`` and, with ``app``, an example application that runs it
    on the target into ``out_dir/app/``.

    ``name`` (default: :func:`library_name` of the model file) prefixes every
    exported symbol, macro and header guard, so several models link into one
    firmware. ``arena``: "static" (a static arena in NAME.c) or "caller" (the
    caller passes a ``NAME_arena_t``). The generated ``NAME_run`` takes uint8
    pixels when the model's sidecar (or ``input_spec``, see
    :func:`bnnkit.preprocess.uint8_scale`) says how they are scaled, else the
    model's own input. Everything is rendered into a temporary directory first
    and moved into place only when complete, so a failure leaves nothing
    half-written; ``out_dir`` follows :func:`bnnkit.outdir.check_project_folder`
    (``force``: a folder bnnkit did not create).

    The budget (``flash_kib``, ``ram_kib``, else the target's) is checked, unless
    ``check_budget`` is false, on the constants and arena first; with ``check_linked`` on a bare-metal target whose
    compiler is installed, also on the whole example firmware, built and linked
    in a temporary copy: its flash exactly, its RAM as static data plus a stack
    as :func:`bnnkit.device.linked_estimate` finds it (``gen.linked`` holds the figures).
    ``disabled_passes``: fusion passes to skip (:data:`bnnkit.passes.PASS_NAMES`).
    ``class_names``: the outputs' names (else the sidecar's, else their numbers).
    ``io``: "model" (NAME_run takes and gives the model's own tensors: int8 for
    an int8 model) or "float" (float32 in and out, quantized and dequantized
    inside NAME_run with the model's scales and zero points).
    ``reference``: whose int8 arithmetic to reproduce, "tflite" or "lce"
    (default: :func:`bnnkit.lower.choose_reference`'s rule).

    Example:
        >>> gen = generate("models/lenet_bin3.tflite", "host", "build/m")  # doctest: +SKIP
        >>> gen.model_bytes, gen.lib_dir.name                               # doctest: +SKIP
        (31156, 'lenet_bin3')
    """
    model_path = Path(model_path)
    name = check_library_name(name) if name is not None else library_name(model_path)
    if arena not in ("static", "caller"):
        raise BnnkitError(f"--arena {arena}: choose static or caller")
    if io not in ("model", "float"):
        raise BnnkitError(f"--io {io}: choose model or float")
    target = get_target(target_name)
    shown = Path(out_dir)
    out_dir = outdir.check_project_folder(shown, force)
    graph, flatbuffer = load_graph(model_path)
    meta = metadata.load(model_path)
    if input_spec is not None:
        meta = dict(meta, preprocessing=input_spec)
    if class_names is not None:
        meta = dict(meta, class_names=list(class_names))
    low, prog = _lower_and_plan(graph, str(model_path), target, prefix=f"{name}_",
                                disabled_passes=disabled_passes, reference=reference)
    gen = Generated(Path(out_dir), prog, meta, target, flatbuffer,
                    tuple(low.shapes[low.input]), low.kinds[low.output] == "bits", low=low,
                    name=name, has_app=app, io_float=io == "float")
    if gen.io_float and gen.input_quant is None and gen.output_quant is None:
        raise BnnkitError(f"{model_path}: --io float is for int8 models; this model's input "
                          "and output are already float32")
    if gen.io_float and gen.output_bits:
        raise BnnkitError(f"{model_path}: --io float: the output is bit-packed, not int8")
    spec = meta["preprocessing"]
    uint8 = preprocess.is_uint8(spec)
    if uint8:
        preprocess.check_channels(spec, low.shapes[low.input], "--mean/--std" if input_spec
                                  else str(metadata.sidecar_path(model_path)))
    # uint8 pixels, else the model's own input (float32 for an int8 one with --io float)
    input_ctype = "uint8_t" if uint8 else KIND_C["f32" if gen.input_dtype == np.float32
                                                 else low.kinds[low.input]][0]
    pixel_map = None
    if uint8 and gen.input_quant is not None:
        pixel_map = _pixel_map(spec, *gen.input_quant)
        if isinstance(pixel_map, np.ndarray):
            prog.consts.append(ConstArray(f"{name}_pixel_table", "int8_t", pixel_map,
                                          "uint8 pixel -> the model's int8 input"))
            pixel_map = "table"
    if check_budget:
        target.check_budget(gen, str(model_path), flash_kib, ram_kib)

    env = _env()
    output_bits = gen.output_bits
    names = meta.get("class_names")
    if names is not None and len(names) != prog.output_floats:
        where = (getattr(class_names, "source", "") or "--class-names" if class_names is not None
                 else metadata.sidecar_path(model_path))
        raise BnnkitError(f"{where}: {len(names)} class names for {prog.output_floats} outputs")
    context = {
        "name": name,
        "NAME": name.upper(),
        "caller_arena": arena == "caller",
        "lib_sources": [f"{name}.c", f"{name}_data.c"] + prog.kernel_files,
        "source": c_comment(model_path.name),
        "prog": prog,
        "meta": meta,
        "target": target,
        "common_cflags": COMMON_CFLAGS,
        "input_uint8": uint8,
        "input_ctype": input_ctype,
        "input_buf_ctype": KIND_C[low.kinds[low.input]][0],
        "input_quant": gen.input_quant,
        "quantize_input": gen.io_float and not uint8 and gen.input_quant is not None,
        "dequantize_output": gen.io_float and gen.output_quant is not None,
        "pixel_map": pixel_map,
        "input_arg": "pixels" if uint8 else "x",
        "input_shape": "x".join(map(str, low.shapes[low.input])) or "scalar",
        "output_ctype": KIND_C[gen.output_kind][0],
        "output_quant": gen.output_quant,
        "output_bits": output_bits,
        "output_shape": "x".join(map(str, low.shapes[low.output])),
        "scale_hex": float(np.float32(spec.get("scale", 1.0))).hex() + "f",
        "offset_hex": (float(np.float32(spec["offset"])).hex() + "f") if spec.get("offset") else "",
        "input_mean": [float(np.float32(v)).hex() + "f" for v in spec.get("mean", ())],
        "input_std": [float(np.float32(v)).hex() + "f" for v in spec.get("std", ())],
        "model_bytes": gen.model_bytes,
        "class_names": names or [str(i) for i in range(prog.output_floats)],
        "arena_words": max(1, (prog.arena_bytes + 3) // 4),
        "has_int8": any(k == "i8" for k in low.kinds.values()),
        "input_id": low.input,
    }
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = outdir.staging_dir(out_dir.parent, "stage")
    try:
        lib = staging / name
        lib.mkdir()
        for template, file in (("model.h.j2", f"{name}.h"), ("model.c.j2", f"{name}.c"),
                               ("model_data.h.j2", f"{name}_data.h"),
                               ("model_data.c.j2", f"{name}_data.c"),
                               ("library.mk.j2", f"{name}.mk"),
                               ("CMakeLists.library.j2", "CMakeLists.txt")):
            (lib / file).write_text(env.get_template(template).render(**context))
        kernels = RUNTIME_DIR / "kernels"
        for f in prog.kernel_headers + prog.support_headers + prog.kernel_files:
            shutil.copyfile(kernels / f, lib / f)
        (lib / "bnn_kernels.h").write_text(_library_kernels_h(
            name, prog.kernel_headers + prog.support_headers + prog.kernel_files,
            library_layout(target)))
        (lib / "files.txt").write_text("".join(
            f"{f}\n" for f in sorted(p.name for p in lib.iterdir())))
        if app or check_linked:
            app_dir = staging / "app"
            app_dir.mkdir()
            (app_dir / "app_model.h").write_text(
                env.get_template("app_model.h.j2").render(**context))
            (app_dir / "Makefile").write_text(
                env.get_template(f"Makefile.{target.makefile}.j2").render(**context))
            for f in sorted((RUNTIME_DIR / "harness").iterdir()):
                shutil.copyfile(f, app_dir / f.name)
            for f in sorted((RUNTIME_DIR / "boards" / target.board).iterdir()):
                shutil.copyfile(f, app_dir / f.name)
        if check_linked and target.machine and target.budget(flash_kib, ram_kib) != (None, None):
            gen.linked = _check_linked(gen, staging, str(model_path), flash_kib, ram_kib)
        if not app and (staging / "app").exists():  # made only for the link check
            shutil.rmtree(staging / "app")
        gen.replaced = outdir.install(staging, out_dir, force)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return gen
