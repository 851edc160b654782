"""Hostile-input fuzzer: mutated flatbuffers and sidecars through ``bnnkit gen-firmware``.

Each case copies a shipped model (and its sidecar) under a hostile file name,
mutates one or both, runs the real CLI in-process and checks the rules of
issue 10:

- no Python traceback: the command ends with exit 0, or exit 2 and exactly one
  line ``bnnkit: error: <the model or sidecar path>: ...``;
- nothing half-written: after an error the output folder does not exist and no
  staging folder is left; after success every file of the manifest is there;
- no injection: a marker planted in every sidecar text and file name reaches the
  generated C only inside string literals and comments, and Makefiles only in
  comment lines;
- no out-of-bounds access: each accepted structure (NAME.c differs) is built
  with ``-DBNN_CHECKS -fsanitize=address,undefined`` (every buffer its own
  object) and run on random inputs.

Run it:
    python tests/fuzz.py --cases 5000          # what `make fuzz` does
    python tests/fuzz.py --cases 50 --builds 4  # quick
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
# distinct structures: float LeNet, binary dense (1 and 3 layers), threshold
# encoding with bit-plane conv, binary convs, Sign MNIST shapes
CORPUS = ("lenet_float", "lenet_bin1", "lenet_bin3", "lenet_bin3_t0_50_100_150_200_255",
          "qconvnet", "signnet_t0_150_255", "signnet_float")
MARK = "ZQXJ"  # planted in names and sidecar text; never a C or Make token of ours
PAYLOADS = (f'*/ {MARK}_a(); /*', f'"; {MARK}_b(); "', f"\\\n#define {MARK}_c 1\n",
            f"$(shell {MARK}_d)", f"{MARK}\x00\x7f\u00e9\u202e", f"??/ {MARK} ??=",
            f"\n\t{MARK}_e:\n\t{MARK}_f", f"`{MARK}_g` $${MARK}")
INTERESTING = (0, 1, -1, 2, 3, -2, 7, 31, 32, 33, 255, 256, 65535, 2 ** 31 - 1, -2 ** 31,
               2 ** 30, 1000000)


# ------------------------------------------------------------------ mutation

def _spans(buf: bytes):
    """Where the structure lives: shape entries, operand indices, options bytes,
    and the big constant buffers (to avoid, mostly)."""
    from bnnkit.tflite_reader import _Table, _u32

    model = _Table(buf, _u32(buf, 0))
    data, ints, opts = [], [], []
    for b in model.tables(4):
        span = b.vector_span(0)
        if span and span[1] > 64:
            data.append(span)
    sg = model.tables(2)[0]
    names = []
    for t in sg.tables(0):
        span = t.vector_span(0)
        if span:
            ints += [span[0] + 4 * k for k in range(span[1])]
        ints.append(t.pos)  # the table's own fields (type, buffer index)
        if t.vector_span(3):
            names.append(t.vector_span(3))
    for o in sg.tables(3):
        for slot in (1, 2):
            span = o.vector_span(slot)
            if span:
                ints += [span[0] + 4 * k for k in range(span[1])]
        for slot in (4, 5):  # builtin options table, custom options bytes
            if slot == 4 and o.table(4) is not None:
                opts += list(range(o.table(4).pos, o.table(4).pos + 24))
            elif slot == 5 and o.vector_span(5):
                start, n = o.vector_span(5)
                opts += list(range(start, start + n))
    for slot in (1, 2):
        span = sg.vector_span(slot)
        if span:
            ints += [span[0] + 4 * k for k in range(span[1])]
    return data, ints, [p for p in opts if p < len(buf)], names


def shape_position(buf: bytes, tensor: int) -> int:
    """Where tensor ``tensor``'s shape vector starts in ``buf`` (its first entry)."""
    from bnnkit.tflite_reader import _Table, _u32

    sg = _Table(buf, _u32(buf, 0)).tables(2)[0]
    return sg.tables(0)[tensor].vector_span(0)[0]


def mutate_flatbuffer(base: bytes, spans, rng: random.Random) -> tuple[bytes, str]:
    """One to three changes: a structural int32 (shape entry, tensor index, ...)
    set to an interesting value, an options byte, any non-data byte, a truncation."""
    data, ints, opts, names = spans
    buf = bytearray(base)
    what = []
    cut = None
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        r = rng.random()
        if r < 0.1 and names:  # a tensor name becomes a payload (same length)
            start, n = rng.choice(names)
            text = (rng.choice(PAYLOADS) * n).encode("utf-8", "surrogateescape")[:n]
            buf[start:start + n] = text.ljust(n, b"#")
            what.append(f"name@{start}")
        elif r < 0.45 and ints:
            pos = rng.choice(ints)
            old = int.from_bytes(buf[pos:pos + 4], "little", signed=True)
            new = rng.choice(INTERESTING + (old + 1, old - 1, old * 2, -old))
            buf[pos:pos + 4] = (new & 0xFFFFFFFF).to_bytes(4, "little")
            what.append(f"int@{pos}:{old}->{new}")
        elif r < 0.75 and opts:
            pos = rng.choice(opts)
            buf[pos] = rng.choice((0, 1, 2, 3, 255, 0x80, 0x7F, buf[pos] ^ 1, rng.randrange(256)))
            what.append(f"opt@{pos}")
        elif r < 0.95:
            while True:
                pos = rng.randrange(len(buf))
                if not any(s <= pos < s + n for s, n in data):
                    break
            buf[pos] = rng.randrange(256)
            what.append(f"byte@{pos}")
        else:  # after the other changes, which index the whole file
            cut = rng.randrange(len(base))
            what.append(f"truncate@{cut}")
    if cut is not None:
        del buf[cut:]
    return bytes(buf), ",".join(what)


def mutate_sidecar(meta: dict, n_out: int, rng: random.Random) -> tuple[str, str]:
    """A hostile or broken sidecar: payload strings in every text, wrong types,
    missing keys, non-finite numbers, wrong class counts, or bytes that are not JSON."""
    meta = json.loads(json.dumps(meta))
    pre = meta.get("preprocessing", {})
    r = rng.random()
    payload = rng.choice(PAYLOADS)
    if r < 0.3:  # injection: every text field carries a payload
        pre["description"] = payload
        meta["class_names"] = [f"{rng.choice(PAYLOADS)}{k}" for k in range(n_out)]
        meta["dataset"] = payload
        return json.dumps(meta), "payload"
    if r < 0.45:
        k = rng.choice(("scale", "offset", "kind", "description", "input_dtype"))
        pre[k] = rng.choice((None, "x", -1, 0, 1e308, [], {}, True, float("nan"),
                             float("inf"), -0.0, 2 ** 70, payload))
        return json.dumps(meta, allow_nan=True), f"preprocessing.{k}"
    if r < 0.55:
        pre.pop(rng.choice(("scale", "kind", "offset", "description")), None)
        return json.dumps(meta), "missing key"
    if r < 0.7:
        meta["class_names"] = rng.choice((payload, [payload] * (n_out + rng.choice((-1, 1))),
                                          [1] * n_out, None, {}, [[]] * n_out,
                                          ["a" * 5000] * n_out))
        return json.dumps(meta), "class_names"
    if r < 0.8:
        meta["preprocessing"] = rng.choice((None, [], "scale", 3, {}))
        return json.dumps(meta), "preprocessing"
    if r < 0.9:
        text = json.dumps(meta)
        cut = rng.randrange(len(text))
        return text[:cut] + rng.choice(("", "\x00", "}", "\ufffd", "\"")), "garbage"
    return rng.choice(("[]", "null", "1", '"x"', "{}", "")), "not an object"


def hostile_name(rng: random.Random, stem: str) -> str:
    if rng.random() < 0.5:
        return stem
    return rng.choice((f"{stem} $(shell {MARK}_h)", f"{stem}\n{MARK}_i:", f"{stem}*\t{MARK}",
                       f'{stem}"{MARK}', f"{stem}\\{MARK}", f"{stem}${{{MARK}}}",
                       f"-{stem}{MARK}", f"{stem} ;{MARK}"))


# ------------------------------------------------------------------ checks

_C_TOKENS = re.compile(r'"(?:\\.|[^"\\\n])*"|/\*.*?\*/|//[^\n]*', re.S)


def library_dir(out_dir: Path) -> Path:
    """The generated library's folder (the one beside app/)."""
    (lib,) = [p for p in out_dir.iterdir() if p.is_dir() and p.name != "app"]
    return lib


def injected(out_dir: Path) -> list[str]:
    """Files where the marker appears outside C literals/comments or Make comments.
    The library's name, made from the file name, is the one way it may reach
    code: as a C identifier of letters, digits and _ only, which is checked."""
    bad = []
    name = library_dir(out_dir).name
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        return [f"library name {name!r}"]
    for f in sorted(out_dir.rglob("*")):
        if not f.is_file():
            continue
        text = f.read_text(errors="replace").replace(name, "").replace(name.upper(), "")
        if MARK not in text:
            continue
        if f.suffix in (".c", ".h"):
            if MARK in _C_TOKENS.sub("", text):
                bad.append(f.name)
        elif any(MARK in line and not line.lstrip().startswith("#")
                 for line in text.split("\n")):
            bad.append(f.name)
    return bad


def sanitizer_run(out_dir: Path, rng: random.Random, work: Path) -> str | None:
    """Build with every buffer its own object under ASan/UBSan and classify three
    random inputs; returns the sanitizer's complaint, or None."""
    lib = library_dir(out_dir)
    header = (lib / f"{lib.name}.h").read_text()
    found = re.search(r"#define \w+_INPUT_SIZE (-?\d+)\n", header)
    size = int(found.group(1)) if found else 0
    if not 0 < size <= 1 << 26:
        return f"{lib.name}.h declares an input of {found.group(1) if found else 'no'} values"
    input_bytes = size * (1 if f"typedef uint8_t {lib.name}_input_t" in header else 4)
    cc = shutil.which("gcc")
    exe = work / "model_asan"
    app = out_dir / "app"
    srcs = sorted(str(p) for p in lib.glob("*.c")) + [str(app / "main.c"), str(app / "board.c")]
    res = subprocess.run([cc, "-std=c99", "-O1", "-g", "-Wall", "-Wextra", "-Werror",
                          "-ffp-contract=off", "-DBNN_CHECKS", "-fsanitize=address,undefined",
                          "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-I", str(lib), "-I", str(app),
                          "-o", str(exe), *srcs, "-lm"], capture_output=True, text=True)
    if res.returncode:
        return "does not compile: " + res.stderr.strip().split("\n")[0]
    images = work / "images.bin"
    images.write_bytes(bytes(rng.randrange(256) for _ in range(3 * input_bytes)))
    run = subprocess.run([str(exe), str(images), str(work / "pred.txt")], capture_output=True,
                         text=True, timeout=120,
                         env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
    if run.returncode:
        text = (run.stderr or run.stdout).strip().split("\n")
        return next((ln for ln in text if "ERROR" in ln or "runtime error" in ln), text[0])
    return None


@dataclass
class Tally:
    cases: int = 0
    outcomes: Counter = field(default_factory=Counter)
    failures: list = field(default_factory=list)
    builds: int = 0
    structures: set = field(default_factory=set)

    def fail(self, case: str, problem: str):
        self.failures.append(f"{case}: {problem}")


def run_case(tally: Tally, k: int, rng: random.Random, bases: dict, work: Path, max_builds: int):
    from click.testing import CliRunner

    from bnnkit.cli import main
    from bnnkit.errors import one_line

    stem = rng.choice(sorted(bases))
    flat, spans, meta, n_out = bases[stem]
    case_dir = work / f"case{k}"
    case_dir.mkdir()
    name = hostile_name(rng, stem)
    model = case_dir / f"{name}.tflite"
    kind = rng.choice(("flatbuffer", "flatbuffer", "sidecar", "both"))
    what = []
    if kind in ("flatbuffer", "both"):
        flat, w = mutate_flatbuffer(flat, spans, rng)
        what.append(w)
    model.write_bytes(flat)
    sidecar = case_dir / f"{name}.json"
    if kind in ("sidecar", "both"):
        text, w = mutate_sidecar(meta, n_out, rng)
        what.append(w)
    else:
        text = json.dumps(meta)
    sidecar.write_text(text, errors="surrogateescape")
    out = case_dir / "out"
    label = f"case {k} ({stem}, {kind}: {'; '.join(what)})"
    result = CliRunner().invoke(main, ["gen-firmware", str(model), "-o", str(out)],
                                catch_exceptions=True)
    tally.cases += 1
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        tb = "".join(traceback.format_exception(*result.exc_info)).strip().split("\n")
        tally.outcomes["traceback"] += 1
        tally.fail(label, f"traceback {tb[-1]} at {tb[-3].strip() if len(tb) > 2 else ''}")
        return
    staged = [p.name for p in case_dir.iterdir() if p.name.startswith(".bnnkit-")]
    if staged:
        tally.fail(label, f"staging left behind: {staged}")
    if result.exit_code != 0:
        lines = result.stderr.strip().split("\n")
        tally.outcomes[f"exit {result.exit_code}"] += 1
        if result.exit_code != 2:
            tally.fail(label, f"exit {result.exit_code}: {lines[0]}")
        elif len(lines) != 1 or not lines[0].startswith("bnnkit: error: "):
            tally.fail(label, f"unclean error: {result.stderr.strip()[:300]!r}")
        elif one_line(model) not in lines[0] and one_line(sidecar) not in lines[0]:
            tally.fail(label, f"error does not name the file: {lines[0][:300]}")
        elif "checks missed" in lines[0]:
            tally.fail(label, f"caught only by the safety net: {lines[0][:300]}")
        if out.exists():
            tally.fail(label, "output folder written despite the error")
        return
    tally.outcomes["accepted"] += 1
    manifest = [line.split("  ")[-1] for line in (out / ".bnnkit-files").read_text().splitlines()]
    missing = [n for n in manifest if not (out / n).is_file()]
    if missing:
        tally.fail(label, f"manifest files missing: {missing}")
    bad = injected(out)
    if bad:
        tally.fail(label, f"marker outside literals/comments in {bad}")
    lib = library_dir(out)
    key = hashlib.sha256((lib / f"{lib.name}.c").read_bytes()
                         + (lib / f"{lib.name}.h").read_bytes()).hexdigest()
    if key not in tally.structures and tally.builds < max_builds:
        tally.structures.add(key)
        tally.builds += 1
        problem = sanitizer_run(out, rng, case_dir)
        if problem:
            tally.fail(label, f"sanitizer: {problem}")
    shutil.rmtree(case_dir)


def _base(stem: str, flat: bytes, meta: dict) -> tuple:
    from bnnkit.lower import lower
    from bnnkit.tflite_reader import parse_tflite

    low = lower(parse_tflite(flat, stem))
    n_out = 1
    for d in low.shapes[low.output]:
        n_out *= d
    return flat, _spans(flat), meta, n_out


def load_bases(names=CORPUS) -> dict:
    return {stem: _base(stem, (MODELS / f"{stem}.tflite").read_bytes(),
                        json.loads((MODELS / f"{stem}.json").read_text())) for stem in names}


# larq-zoo and MLPerf Tiny-shaped binary networks (bnnkit.public_models, random
# weights): LCE's bconv, bmaxpool, depthwise, residual adds, global pools
PUBLIC = ("binary_dscnn", "quicknet_small", "binary_resnet8")


def public_bases(cache: Path, names=PUBLIC) -> dict:
    """The public networks converted by LCE once into ``cache`` (reused when
    there), with a sidecar that passes their float32 input through."""
    from bnnkit import public_models as pm

    bases = {}
    for name in names:
        path = Path(cache) / f"{name}.tflite"
        if not path.is_file():
            path.write_bytes(pm.convert(pm.build(name)))
        bases[name] = _base(name, path.read_bytes(), {"preprocessing": {"kind": "none"}})
    return bases


def fuzz(cases: int, seed: int = 0, max_builds: int = 100, progress: bool = False,
         names=CORPUS, public=(), cache=None) -> Tally:
    """Run ``cases`` mutated models through gen-firmware; returns the tally.
    ``public``: names of :data:`PUBLIC` networks to mutate too, converted into
    ``cache`` (default: the run's temporary folder)."""
    rng = random.Random(seed)
    bases = load_bases(names)
    tally = Tally()
    start = time.time()
    with tempfile.TemporaryDirectory(prefix="bnnkit-fuzz-") as tmp:
        work = Path(tmp)
        if public:
            if progress:
                print(f"converting {', '.join(public)} with LCE", flush=True)
            bases.update(public_bases(cache or work, public))
        for k in range(cases):
            try:
                run_case(tally, k, rng, bases, work, max_builds)
            except Exception as exc:  # the harness itself: say so, go on
                tally.fail(f"case {k}", f"fuzzer error {type(exc).__name__}: {exc}")
            if progress and (k + 1) % 100 == 0:
                print(f"  {k + 1}/{cases} cases, {dict(tally.outcomes)}, "
                      f"{tally.builds} sanitizer builds, {len(tally.failures)} failures, "
                      f"{time.time() - start:.0f} s", flush=True)
    return tally


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--builds", type=int, default=200,
                    help="at most this many distinct accepted structures built with sanitizers")
    ap.add_argument("--public", default=",".join(PUBLIC),
                    help="public networks mutated too, comma-separated ('' for none)")
    args = ap.parse_args(argv)
    t0 = time.time()
    tally = fuzz(args.cases, args.seed, args.builds, progress=True,
                 public=tuple(p for p in args.public.split(",") if p))
    print(f"{tally.cases} cases in {time.time() - t0:.0f} s: {dict(tally.outcomes)}; "
          f"{tally.builds} distinct accepted structures built and run under "
          f"ASan/UBSan with -DBNN_CHECKS; {len(tally.failures)} failures")
    for f in tally.failures[:50]:
        print("  FAIL", f)
    return 1 if tally.failures else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "toolchain"))
    sys.exit(main())
