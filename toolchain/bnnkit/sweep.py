"""Design-space sweeps on Ray: every point trained, converted, generated and measured.

A sweep spec (YAML) lists groups of trials, each a grid (or random points of a
grid) over a LeNet's architecture and training parameters. Each trial runs the
whole chain on one Ray worker: ``train`` -> LCE ``convert`` -> generated C on the
host (accuracy on the test set, against LCE's interpreter) -> the same C on the
emulated device (flash, RAM, instructions per inference). Trials are Ray tasks:

- a local Ray is started inside the process (``--workers`` trials at a time), or
  an existing cluster is used (``--address``). Each trial trains with one
  TensorFlow thread, so its result does not depend on how many run beside it;
- each trial's record is written to ``DIR/trials/ID.json`` the moment it finishes,
  and a rerun skips every trial whose record says ``ok``;
- a worker that dies mid-trial (killed, out of memory, node lost) is retried by
  Ray (``max_retries``); the other records are never touched. A trial that fails
  on its own (bad parameters, a model over the device's budget) is recorded as
  ``failed`` with the one-line reason and retried by the next rerun.

A ``threshold_search`` block adds paper 001's question as a search: input
threshold lists with a given number of channels, first placed at quantiles of
the training pixels, then refined around the best list so far (seeded jitter of
its boundaries), each candidate trained on the same budget as the others.

Example:
    >>> from bnnkit.sweep import load_spec, expand
    >>> spec = load_spec("sweeps/paper000-figs5-8.yaml")           # doctest: +SKIP
    >>> len(expand(spec))                                          # doctest: +SKIP
    16
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import BnnkitError, one_line
from .outdir import temp_dir

PARAMS = ("arch", "binary_widths", "thresholds", "recipe", "epochs", "batch_size", "seed",
          "train_limit")
DEFAULTS = {"arch": "lenet_bin3", "binary_widths": None, "thresholds": None, "recipe": "paper",
            "epochs": None, "batch_size": None, "seed": 0, "train_limit": None}
SPEC_KEYS = {"name", "description", "dataset", "target", "test_limit", "defaults", "groups",
             "threshold_search", "data_dir"}
GROUP_KEYS = {"name", "title", "x", "grid", "random", "paper"}
SEARCH_KEYS = {"name", "title", "channels", "base", "refine_rounds", "per_round", "step", "seed",
               "paper", "confirm_seeds"}
MAX_TRIALS = 10_000
# A trial's own errors are recorded, not retried; a dead worker process is retried.
MAX_RETRIES = 3


@dataclass
class Group:
    """One figure's worth of trials: a grid over some parameters."""

    name: str
    title: str
    x: list
    trials: list = field(default_factory=list)
    paper: list = field(default_factory=list)


@dataclass
class Spec:
    """A validated sweep spec (see :func:`load_spec`)."""

    name: str
    description: str
    dataset: str
    target: str
    test_limit: int | None
    groups: list
    search: dict | None
    source: str
    data_dir: str | None = None


def _fail(source, message):
    raise BnnkitError(f"{source}: {one_line(message)}")


def _int(source, where, value, low, high):
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        _fail(source, f"{where} must be an integer in {low}..{high}, not {value!r}")
    return value


def check_params(source: str, where: str, params: dict) -> dict:
    """Validate one trial's parameters; returns them complete (defaults filled).

    Every value becomes part of a file name or a training call, so each is checked
    against a closed set or a numeric range here.

    Example:
        >>> check_params("s.yaml", "defaults", {"arch": "lenet_bin1", "binary_widths": [40]})["epochs"]
        10
    """
    from . import zoo
    from .layers import validate_thresholds
    from .train import RECIPES

    unknown = sorted(set(params) - set(PARAMS))
    if unknown:
        _fail(source, f"{where}: unknown parameter(s) {', '.join(map(str, unknown))} "
                      f"(known: {', '.join(PARAMS)})")
    p = dict(DEFAULTS, **params)
    if not isinstance(p["arch"], str) or p["arch"] not in zoo.ARCHITECTURES:
        _fail(source, f"{where}: arch {p['arch']!r} is not one of {', '.join(zoo.ARCHITECTURES)}")
    if not isinstance(p["recipe"], str) or p["recipe"] not in RECIPES:
        _fail(source, f"{where}: recipe {p['recipe']!r} is not one of {', '.join(RECIPES)}")
    recipe = RECIPES[p["recipe"]]
    p["epochs"] = _int(source, f"{where}: epochs", p["epochs"] if p["epochs"] is not None
                       else recipe["epochs"], 1, 1000)
    p["batch_size"] = _int(source, f"{where}: batch_size", p["batch_size"]
                           if p["batch_size"] is not None else recipe["batch_size"], 1, 65536)
    p["seed"] = _int(source, f"{where}: seed", p["seed"], 0, 2**31 - 1)
    if p["train_limit"] is not None:
        p["train_limit"] = _int(source, f"{where}: train_limit", p["train_limit"], 1, 10**7)
    if p["binary_widths"] is not None:
        widths = p["binary_widths"]
        if not isinstance(widths, list):
            _fail(source, f"{where}: binary_widths must be a list of integers, not {widths!r}")
        if p["arch"] not in zoo.LENET_BINARY_LAYERS or p["arch"] == "lenet_float":
            _fail(source, f"{where}: binary_widths needs arch lenet_bin1, lenet_bin2 or lenet_bin3")
        want = zoo.LENET_BINARY_LAYERS[p["arch"]]
        if len(widths) != want:
            _fail(source, f"{where}: {p['arch']} has {want} binary layer(s), binary_widths "
                          f"{widths!r} gives {len(widths)}")
        p["binary_widths"] = [_int(source, f"{where}: binary_widths", w, 1, 4096) for w in widths]
    if p["thresholds"] is not None:
        try:
            p["thresholds"] = validate_thresholds(p["thresholds"]) \
                if isinstance(p["thresholds"], list) else _fail(
                    source, f"{where}: thresholds must be a list, not {p['thresholds']!r}")
        except BnnkitError as exc:
            _fail(source, f"{where}: {exc}")
        if p["arch"] == "qconvnet" and len(p["thresholds"]) > 33:
            _fail(source, f"{where}: too many threshold channels")
    return p


def trial_id(params: dict, dataset: str, target: str, test_limit) -> str:
    """A file-safe, deterministic name: readable slug plus a hash of everything
    that defines the trial (so two specs never share a record by accident).

    Example:
        >>> trial_id(check_params("s", "t", {"arch": "lenet_bin1", "binary_widths": [40]}),
        ...          "fashion-mnist", "cortex-m4", None)
        'lenet_bin1-w40-paper-e10-b64-s0-375422'
    """
    parts = [params["arch"]]
    if params["binary_widths"] is not None:
        parts.append("w" + "_".join(map(str, params["binary_widths"])))
    if params["thresholds"] is not None:
        parts.append("t" + "_".join(map(str, params["thresholds"])))
    parts += [params["recipe"], f"e{params['epochs']}", f"b{params['batch_size']}",
              f"s{params['seed']}"]
    if params["train_limit"] is not None:
        parts.append(f"n{params['train_limit']}")
    key = json.dumps({"params": params, "dataset": dataset, "target": target,
                      "test_limit": test_limit}, sort_keys=True)
    return "-".join(parts) + "-" + hashlib.sha256(key.encode()).hexdigest()[:6]


MAX_SPEC_BYTES = 1 << 20  # a spec is a page of YAML
MAX_SPEC_DEPTH = 32  # nested mappings and lists


def _read_yaml(path: Path):
    """The spec's YAML, bounded before it is expanded: a regular file of at most
    MAX_SPEC_BYTES, no anchors or aliases (an alias bomb grows without bound),
    at most MAX_SPEC_DEPTH levels; every problem is one line naming the file."""
    import yaml

    if not path.exists():
        raise BnnkitError(f"{path}: no such sweep spec")
    if not path.is_file():
        raise BnnkitError(f"{path}: not a regular file")
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_SPEC_BYTES + 1)
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BnnkitError(f"{path}: cannot read ({exc.__class__.__name__})") from None
    if len(raw) > MAX_SPEC_BYTES:
        raise BnnkitError(f"{path}: over {MAX_SPEC_BYTES:,} bytes: not a sweep spec")
    try:
        depth = 0
        for token in yaml.scan(text):
            if isinstance(token, (yaml.AliasToken, yaml.AnchorToken, yaml.TagToken)):
                raise BnnkitError(f"{path}: line {token.start_mark.line + 1}: YAML anchors, "
                                  "aliases and tags are not accepted in a sweep spec")
            if isinstance(token, (yaml.BlockMappingStartToken, yaml.BlockSequenceStartToken,
                                  yaml.FlowMappingStartToken, yaml.FlowSequenceStartToken)):
                depth += 1
                if depth > MAX_SPEC_DEPTH:
                    raise BnnkitError(f"{path}: line {token.start_mark.line + 1}: nested over "
                                      f"{MAX_SPEC_DEPTH} levels deep")
            elif isinstance(token, (yaml.BlockEndToken, yaml.FlowMappingEndToken,
                                    yaml.FlowSequenceEndToken)):
                depth -= 1
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise BnnkitError(f"{path}: not valid YAML{where}") from None
    except (ValueError, RecursionError) as exc:  # a 5,000-digit integer, say
        raise BnnkitError(f"{path}: unreadable value ({one_line(str(exc))[:120]})") from None


def _file_name(source, where, name) -> str:
    """A group's name: it names PNG files, so letters, digits, '-' and '_' only."""
    if not isinstance(name, str) or not name or len(name) > 40 or \
            not all(c.isalnum() or c in "-_" for c in name):
        _fail(source, f"{where}: name {name!r} must be 1-40 letters, digits, '-' or '_'")
    return name


def _label(source, group, value) -> str:
    if not isinstance(value, str) or len(value) > 200:
        _fail(source, f"group {group!r}: labels must be text of at most 200 characters")
    return value


def _grid_points(source: str, where: str, grid, rand) -> list[dict]:
    """The points of a grid (a mapping of parameter -> values, or a list of such
    mappings whose points are joined), or ``rand['samples']`` of them at random."""
    grids = grid if isinstance(grid, list) else [grid]
    points = []
    for one in grids:
        if not isinstance(one, dict) or not one:
            _fail(source, f"{where}: 'grid' must map parameters to lists of values")
        keys = list(one)
        total = 1
        for key in keys:
            if not isinstance(one[key], list) or not one[key]:
                _fail(source, f"{where}: grid value of {key!r} must be a non-empty list")
            total *= len(one[key])
        if total + len(points) > MAX_TRIALS:
            _fail(source, f"{where}: the grid has over {MAX_TRIALS:,} points")
        points += [dict(zip(keys, values)) for values in itertools.product(*(one[k] for k in keys))]
    if rand is not None:
        if not isinstance(rand, dict) or set(rand) - {"samples", "seed"}:
            _fail(source, f"{where}: 'random' takes samples and seed")
        n = _int(source, f"{where}: random samples", rand.get("samples"), 1, MAX_TRIALS)
        seed = _int(source, f"{where}: random seed", rand.get("seed", 0), 0, 2**31 - 1)
        points = random.Random(seed).sample(points, min(n, len(points)))
    return points


def load_spec(path) -> Spec:
    """Read and validate a sweep spec; every problem is one line naming the file.

    Example:
        >>> load_spec("sweeps/paper001-thresholds.yaml").search["channels"]  # doctest: +SKIP
        5
    """
    from . import data as datamod
    from .targets import TARGETS

    path = Path(path)
    raw = _read_yaml(path)
    source = str(path)
    if not isinstance(raw, dict):
        _fail(source, "a sweep spec is a mapping (name, dataset, target, defaults, groups)")
    unknown = sorted(map(str, set(raw) - SPEC_KEYS))
    if unknown:
        _fail(source, f"unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(SPEC_KEYS))})")
    name = raw.get("name", path.stem)
    if not isinstance(name, str) or not name or len(name) > 80 or \
            not all(c.isalnum() or c in "-_." for c in name) or not name[0].isalnum():
        # it names the folder build/sweeps/NAME: '..' or '.x' would leave or hide it
        _fail(source, f"name {name!r} must be 1-80 letters, digits, '-', '_' or '.', starting "
                      "with a letter or digit")
    dataset = raw.get("dataset", "fashion-mnist")
    if not isinstance(dataset, str) or dataset not in datamod.DATASETS:
        _fail(source, f"dataset {dataset!r} is not one of {', '.join(datamod.DATASETS)}")
    target = raw.get("target", "cortex-m4")
    if not isinstance(target, str) or target not in TARGETS or not TARGETS[target].machine:
        emulated = [t for t, v in TARGETS.items() if v.machine]
        _fail(source, f"target {target!r} is not an emulated device ({', '.join(emulated)})")
    test_limit = raw.get("test_limit")
    if test_limit is not None:
        test_limit = _int(source, "test_limit", test_limit, 1, 10**7)
    description = raw.get("description", "")
    if not isinstance(description, str):
        _fail(source, "description must be text")
    data_dir = raw.get("data_dir")
    if data_dir is not None and not isinstance(data_dir, str):
        _fail(source, "data_dir must be a path")
    if data_dir is not None:
        # relative to the spec, so the sweep runs the same from any folder
        data_dir = str(path.parent / data_dir)
    defaults = raw.get("defaults") or {}
    if not isinstance(defaults, dict):
        _fail(source, "defaults must be a mapping of parameters")
    check_params(source, "defaults", defaults)

    groups = []
    raw_groups = raw.get("groups") or []
    if not isinstance(raw_groups, list):
        _fail(source, "groups must be a list")
    for i, g in enumerate(raw_groups):
        where = f"group {i + 1}"
        if not isinstance(g, dict) or set(g) - GROUP_KEYS:
            _fail(source, f"{where}: a group is a mapping of {', '.join(sorted(GROUP_KEYS))}")
        gname = _file_name(source, where, g.get("name", f"group{i + 1}"))
        points = _grid_points(source, f"group {gname}", g.get("grid"), g.get("random"))
        first = g["grid"][0] if isinstance(g["grid"], list) else g["grid"]
        x = g.get("x", list(first))
        x = [x] if isinstance(x, str) else x
        if not isinstance(x, list) or any(k not in PARAMS for k in x):
            _fail(source, f"group {gname}: x must name parameters from {', '.join(PARAMS)}")
        group = Group(gname, _label(source, gname, g.get("title", gname)), x,
                      paper=_paper_points(source, gname, g.get("paper")))
        for point in points:
            params = check_params(source, f"group {gname}", {**defaults, **point})
            group.trials.append(params)
        groups.append(group)

    search = raw.get("threshold_search")
    if search is not None:
        search = _check_search(source, search, defaults)
    if not groups and search is None:
        _fail(source, "no trials: give 'groups' or 'threshold_search'")
    return Spec(name, description, dataset, target, test_limit, groups, search, source, data_dir)


def _paper_points(source, group, paper) -> list:
    """The paper's values to draw beside ours: [{x: label, accuracy: %, note: text}]."""
    if paper is None:
        return []
    if not isinstance(paper, list):
        _fail(source, f"group {group}: paper must be a list of {{x, accuracy, note}}")
    out = []
    for item in paper:
        if not isinstance(item, dict) or set(item) - {"x", "accuracy", "note"} or \
                "x" not in item or "accuracy" not in item:
            _fail(source, f"group {group}: each paper point has x, accuracy and an optional note")
        acc = item["accuracy"]
        if isinstance(acc, bool) or not isinstance(acc, (int, float)) or not 0 <= acc <= 100:
            _fail(source, f"group {group}: paper accuracy {acc!r} is not a percentage")
        out.append({"x": _label(source, group, str(item["x"])), "accuracy": float(acc),
                    "note": _label(source, group, item.get("note", ""))})
    return out


def _seeds(source, seeds) -> list:
    if not isinstance(seeds, list) or len(seeds) > 16:
        _fail(source, "threshold_search: confirm_seeds must be a list of at most 16 seeds")
    return [_int(source, "threshold_search: confirm_seeds", v, 0, 2**31 - 1) for v in seeds]


def _check_search(source, search, defaults) -> dict:
    if not isinstance(search, dict) or set(search) - SEARCH_KEYS:
        _fail(source, f"threshold_search is a mapping of {', '.join(sorted(SEARCH_KEYS))}")
    out = {
        "name": search.get("name", "search"),
        "title": _label(source, "search", search.get("title", "automatic threshold search")),
        "channels": _int(source, "threshold_search: channels", search.get("channels", 5), 2, 32),
        "refine_rounds": _int(source, "threshold_search: refine_rounds",
                              search.get("refine_rounds", 1), 0, 20),
        "per_round": _int(source, "threshold_search: per_round", search.get("per_round", 2), 1, 64),
        "step": _int(source, "threshold_search: step", search.get("step", 12), 1, 128),
        "seed": _int(source, "threshold_search: seed", search.get("seed", 0), 0, 2**31 - 1),
        "confirm_seeds": _seeds(source, search.get("confirm_seeds", [])),
        "paper": _paper_points(source, "search", search.get("paper")),
    }
    _file_name(source, "threshold_search", out["name"])
    base = search.get("base") or {}
    if not isinstance(base, dict) or "thresholds" in base:
        _fail(source, "threshold_search: base is a mapping of parameters other than thresholds")
    out["base"] = check_params(source, "threshold_search base", {**defaults, **base})
    return out


# ----------------------------------------------------------- threshold search

def pixel_quantile_thresholds(images, channels: int) -> list[list[int]]:
    """Quantile-placed threshold lists with ``channels`` intervals over 0..255.

    Two placements of the boundaries, both from the training pixels' histogram:
    ``foreground``: equal shares of the non-zero pixels per interval (the first
    interval also holds the background); ``background``: one channel for exactly
    0 (``[0, 1, ...]``) and equal shares of the non-zero pixels in the others.
    Repeated boundaries (a heavy value) are pushed apart to stay increasing.

    Example:
        >>> import numpy as np
        >>> pixel_quantile_thresholds(np.arange(256, dtype=np.uint8), 4)[0]
        [0, 64, 128, 192, 255]
    """
    import numpy as np

    pixels = np.asarray(images).reshape(-1)
    fg = pixels[pixels > 0].astype(np.float64)
    if fg.size == 0:
        fg = np.arange(1, 256, dtype=np.float64)
    lists = []
    for inner in (
            [np.quantile(fg, k / channels) for k in range(1, channels)],
            [1.0] + [np.quantile(fg, k / (channels - 1)) for k in range(1, channels - 1)]):
        lists.append(_increasing([0] + [int(round(v)) for v in inner] + [255]))
    unique = []
    for t in lists:
        if t not in unique:
            unique.append(t)
    return unique


def _increasing(values: list[int]) -> list[int]:
    """Make inner boundaries strictly increasing inside (0, 255), keeping the ends."""
    n = len(values)
    out = list(values)
    for i in range(1, n - 1):
        out[i] = min(max(out[i], out[i - 1] + 1), 255 - (n - 1 - i))
    for i in range(n - 2, 0, -1):
        out[i] = min(out[i], out[i + 1] - 1)
    return out


def jitter_thresholds(best: list[int], step: int, rng: random.Random) -> list[int]:
    """``best`` with each inner boundary moved by up to ``step`` (the refinement).

    Example:
        >>> jitter_thresholds([0, 90, 150, 255], 10, random.Random(1))
        [0, 84, 158, 255]
    """
    inner = [t + rng.randint(-step, step) for t in best[1:-1]]
    return _increasing([best[0]] + inner + [best[-1]])


# ------------------------------------------------------------ expansion

@dataclass
class Trial:
    """One point of the sweep: its group, parameters and file-safe id."""

    group: str
    params: dict
    id: str
    stage: str = "grid"


def expand(spec: Spec, train_images=None) -> list[Trial]:
    """Every trial of the spec's first stage: the groups' grids and, with a
    threshold search, its quantile-placed candidates (``train_images`` gives the
    pixel histogram; loaded from the dataset when None)."""
    trials, seen = [], set()

    def add(group, params, stage):
        tid = trial_id(params, spec.dataset, spec.target, spec.test_limit)
        if tid not in seen:
            seen.add(tid)
            trials.append(Trial(group, params, tid, stage))

    for group in spec.groups:
        for params in group.trials:
            add(group.name, params, "grid")
    if spec.search is not None:
        if train_images is None:
            from . import data as datamod

            train_images = datamod.load(spec.dataset, "train", spec.data_dir).images
        for thresholds in pixel_quantile_thresholds(train_images, spec.search["channels"]):
            add(spec.search["name"], dict(spec.search["base"], thresholds=thresholds), "quantile")
    return trials


def refine(spec: Spec, records: dict, round_index: int) -> list[Trial]:
    """Round ``round_index`` of the threshold search: jitter the best list found
    before this round. Deterministic, so a rerun regenerates the same trials
    (and skips those already finished)."""
    s = spec.search
    earlier = {"quantile"} | {f"refine{r + 1}" for r in range(round_index)}
    best = best_search_record(spec, records, earlier)
    if best is None:
        return []
    rng = random.Random(s["seed"] * 1000 + round_index)
    stage = f"refine{round_index + 1}"
    out = []
    for _ in range(s["per_round"]):
        thresholds = jitter_thresholds(best["params"]["thresholds"], s["step"], rng)
        params = dict(s["base"], thresholds=thresholds)
        tid = trial_id(params, spec.dataset, spec.target, spec.test_limit)
        if records.get(tid, {}).get("stage", stage) == stage and all(t.id != tid for t in out):
            out.append(Trial(s["name"], params, tid, stage))
    return out


def search_stages(spec: Spec) -> set:
    """The stages whose trials choose the search's best list (not the confirmation)."""
    return {"quantile"} | {f"refine{r + 1}" for r in range(spec.search["refine_rounds"])}


def rival_record(spec: Spec, records: dict):
    """The best hand-picked list (a group's trial, not the search's) with as many
    channels as the search, trained with the search's own parameters otherwise."""
    base = spec.search["base"]
    same = [r for r in records.values() if r.get("status") == "ok" and r.get("stage") == "grid"
            and r["params"]["thresholds"] is not None
            and len(r["params"]["thresholds"]) - 1 == spec.search["channels"]
            and {k: v for k, v in r["params"].items() if k != "thresholds"}
            == {k: v for k, v in base.items() if k != "thresholds"}]
    return max(same, key=lambda r: (r["accuracy"], r["id"]), default=None)


def confirm(spec: Spec, records: dict) -> list[Trial]:
    """The confirmation: the searched best list and the rival hand-picked list,
    each trained again with every seed of ``confirm_seeds``, so that the verdict
    does not rest on the one seed the search selected with."""
    best = best_search_record(spec, records, search_stages(spec))
    rival = rival_record(spec, records)
    out = []
    for rec in (best, rival):
        if rec is None:
            continue
        for seed in spec.search["confirm_seeds"]:
            params = dict(rec["params"], seed=seed)
            tid = trial_id(params, spec.dataset, spec.target, spec.test_limit)
            if tid not in records or records[tid].get("stage") == "confirm":
                out.append(Trial(rec["group"], params, tid, "confirm"))
    return out


def best_search_record(spec: Spec, records: dict, stages=None):
    """The search's best finished trial (host accuracy, then fewer instructions),
    among ``stages`` (all when None)."""
    if spec.search is None:
        return None
    ok = [r for r in records.values() if r.get("status") == "ok" and r["group"] == spec.search["name"]
          and (stages is None or r.get("stage") in stages)]
    if not ok:
        return None
    return max(ok, key=lambda r: (r["accuracy"], -r["instructions_per_inference"], r["id"]))


# --------------------------------------------------------------- one trial

def run_trial(params: dict, dataset: str, target: str, test_limit, data_dir, threads: int) -> dict:
    """Train, convert, generate and measure one trial (runs on a Ray worker).

    Returns ``{"record": ..., "tflite": bytes, "sidecar": dict, "log": text}``.
    TensorFlow is limited to ``threads`` so that trials sharing a machine do
    not fight over its cores.
    """
    import io
    import socket
    from contextlib import redirect_stderr, redirect_stdout

    os.environ["OMP_NUM_THREADS"] = str(threads)
    log = io.StringIO()
    started = time.time()
    timings = {}
    with temp_dir("trial") as tmp, \
            redirect_stdout(log), redirect_stderr(log):
        from .tfenv import tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        from . import convert as conv
        from . import metadata
        from .simulate import simulate
        from .train import train

        h5 = Path(tmp) / "model.h5"
        t0 = time.time()
        meta = train(params["arch"], h5, epochs=params["epochs"], batch_size=params["batch_size"],
                     seed=params["seed"], limit=params["train_limit"], data_dir=data_dir,
                     recipe=params["recipe"], dataset=dataset, thresholds=params["thresholds"],
                     binary_widths=params["binary_widths"], verbose=2, evaluate_train=False)
        timings["train_s"] = round(time.time() - t0, 1)
        t0 = time.time()
        tflite = conv.convert(h5, data_dir=data_dir)
        timings["convert_s"] = round(time.time() - t0, 1)
        t0 = time.time()
        host, _ = simulate(tflite, "host", dataset, test_limit, data_dir, build_dir=Path(tmp))
        timings["host_s"] = round(time.time() - t0, 1)
        t0 = time.time()
        device, _ = simulate(tflite, target, dataset, 1, data_dir, build_dir=Path(tmp))
        timings["device_s"] = round(time.time() - t0, 1)
        blob = tflite.read_bytes()
        sidecar = metadata.load(tflite)
    record = {
        "keras_test_accuracy": meta["keras_test_accuracy"],
        "accuracy": host["accuracy"],
        "lce_accuracy": host["reference_accuracy"],
        "agreement": host["agreement"],
        "test_images": host["n_images"],
        "model_bytes": host["model_bytes"],
        "arena_bytes": host["arena_bytes"],
        "flash_bytes": device["flash_bytes"],
        "ram_bytes": device["ram_bytes"],
        "instructions_per_inference": device["instructions_per_inference"],
        "binary_params": meta["larq_summary"]["binary_params"],
        "float_params": meta["larq_summary"]["float_params"],
        "larq_model_kib": meta["larq_summary"]["model_size_kib"],
        "timings": dict(timings, total_s=round(time.time() - started, 1)),
        "worker": {"host": socket.gethostname(), "pid": os.getpid(), "threads": threads},
    }
    return {"record": record, "tflite": blob, "sidecar": sidecar, "log": log.getvalue()[-20000:]}


# ------------------------------------------------------------ the driver

def _write_json(path: Path, obj) -> None:
    """Atomically (:func:`bnnkit.outdir.write_text`): a reader or a crash never sees half a record."""
    from .outdir import write_text

    write_text(path, json.dumps(obj, indent=1, sort_keys=True) + "\n")


RECORD_NUMBERS = ("accuracy", "lce_accuracy", "agreement", "model_bytes", "flash_bytes",
                  "ram_bytes", "instructions_per_inference", "test_images")


def load_records(out_dir, strict: bool = False) -> dict:
    """Every trial record under ``out_dir/trials`` by id.

    A file that is not a record (unreadable, not JSON, a finished record missing
    its figures) is skipped, so the sweep reruns that trial; with ``strict`` (the
    report) it is a one-line error naming the file.

    Example:
        >>> records = load_records("docs/sweeps/paper000-figs5-8")  # doctest: +SKIP
    """
    records = {}
    for path in sorted(Path(out_dir, "trials").glob("*.json")):
        try:
            rec = json.loads(path.read_text())
            if not isinstance(rec, dict) or rec.get("id") != path.stem or \
                    not isinstance(rec.get("params"), dict) or rec.get("status") not in ("ok", "failed"):
                raise ValueError("not a trial record")
            if rec["status"] == "ok" and not all(
                    isinstance(rec.get(k), (int, float)) and not isinstance(rec.get(k), bool)
                    and rec[k] >= 0 for k in RECORD_NUMBERS):
                raise ValueError("a finished record without its figures")
            check_params(str(path), "params", rec["params"])
        except (OSError, ValueError, BnnkitError) as exc:
            if strict:
                raise BnnkitError(f"{path}: not a bnnkit trial record ({one_line(exc)[:200]})") \
                    from None
            continue
        records[path.stem] = rec
    return records


# Ray runs as a one-machine "cluster" when this is 0: it then takes 127.0.0.1 as the
# node's address and its servers (GCS, raylet, workers, agents) listen there only
LOCAL_ONLY_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def _start_ray(address, workers: int, cpus_per_trial: int):
    """Ray for a sweep: the cluster at ``address``, or a local Ray that listens
    on loopback only (no dashboard), so nothing on the network can reach it."""
    import logging

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    saved = os.environ.get(LOCAL_ONLY_ENV)
    if not address:  # before Ray reads it, and for the processes it starts
        os.environ[LOCAL_ONLY_ENV] = "0"
    import ray
    from ray._private import ray_constants

    cluster = ray_constants.ENABLE_RAY_CLUSTER
    kwargs = {"include_dashboard": False, "log_to_driver": False,
              "logging_level": logging.ERROR, "configure_logging": True}
    try:
        if address:
            ray.init(address=address, **kwargs)
        else:
            ray_constants.ENABLE_RAY_CLUSTER = False  # Ray imported earlier in this process
            ray.init(num_cpus=workers * cpus_per_trial, **kwargs)
    except Exception as exc:  # ConnectionError, RuntimeError, ...: one line for the user
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        raise BnnkitError(f"cannot start {where}: {one_line(str(exc))[:300]}", exit_code=1) \
            from None
    finally:  # the processes started have their settings; this process gets its own back
        ray_constants.ENABLE_RAY_CLUSTER = cluster
        if saved is None:
            os.environ.pop(LOCAL_ONLY_ENV, None)
        else:
            os.environ[LOCAL_ONLY_ENV] = saved
    return ray


def run_sweep(spec: Spec, out_dir, *, address: str | None = None, workers: int = 2,
              cpus_per_trial: int | None = None, data_dir=None, echo=print) -> dict:
    """Run every trial of ``spec`` not yet finished in ``out_dir``; return the summary.

    Example:
        >>> run_sweep(load_spec("sweeps/tiny.yaml"), "build/sweep", workers=2)  # doctest: +SKIP
    """
    out = Path(out_dir)
    data_dir = data_dir or spec.data_dir
    if cpus_per_trial is None:
        cpus_per_trial = 1
    records = load_records(out)
    out.mkdir(parents=True, exist_ok=True)
    spec_copy = out / "spec.yaml"  # sweep-report reads the groups from here
    spec_copy.write_bytes(Path(spec.source).read_bytes())
    trials = expand(spec, None if spec.search is None else _train_images(spec, data_dir))
    started = time.time()
    summary = {"spec": spec.name, "workers": workers, "cpus_per_trial": cpus_per_trial,
               "address": address or "local", "ran": [], "skipped": [], "failed": []}
    ray = None
    try:
        stages = [("grid" if spec.search is None else "grid and quantile candidates", trials)]
        round_index = 0
        while stages:
            label, batch = stages.pop(0)
            todo = [t for t in batch if records.get(t.id, {}).get("status") != "ok"]
            summary["skipped"] += [t.id for t in batch if t not in todo]
            if batch:
                echo(f"[sweep] {spec.name}: {label}: {len(batch)} trials, {len(batch) - len(todo)} "
                     f"already done, {len(todo)} to run")
            if todo:
                if ray is None:
                    ray = _start_ray(address, workers, cpus_per_trial)
                _run_batch(ray, spec, todo, out, records, summary, workers, cpus_per_trial,
                           data_dir, echo)
            if spec.search is not None and round_index < spec.search["refine_rounds"]:
                stages.append((f"threshold refinement {round_index + 1}",
                               refine(spec, records, round_index)))
                round_index += 1
            elif spec.search is not None and round_index == spec.search["refine_rounds"] and \
                    spec.search["confirm_seeds"]:
                stages.append(("confirmation with more seeds", confirm(spec, records)))
                round_index += 1
    finally:
        if ray is not None:
            ray.shutdown()
    summary["wall_s"] = round(time.time() - started, 1)
    if summary["ran"] or summary["failed"]:
        _log_run(out / "sweep.json", summary)
    return summary


def _log_run(path: Path, summary: dict) -> None:
    """Append this run (workers, wall time, trials run) to ``sweep.json``'s runs."""
    try:
        runs = json.loads(path.read_text()).get("runs", [])
        runs = [r for r in runs if isinstance(r, dict)] if isinstance(runs, list) else []
    except (OSError, ValueError, AttributeError):
        runs = []
    _write_json(path, {"runs": runs + [summary]})


def _train_images(spec: Spec, data_dir):
    from . import data as datamod

    return datamod.load(spec.dataset, "train", data_dir).images


def _run_batch(ray, spec, todo, out, records, summary, workers, cpus_per_trial, data_dir, echo):
    remote = ray.remote(num_cpus=cpus_per_trial, max_retries=MAX_RETRIES, retry_exceptions=False,
                        max_calls=1)(run_trial)
    # the longest trials first, so that the last ones to finish run side by side
    pending = sorted(todo, key=lambda t: -_cost(t.params))
    running = {}
    done, started = 0, time.time()
    while pending or running:
        while pending and len(running) < workers:
            t = pending.pop(0)
            ref = remote.remote(t.params, spec.dataset, spec.target, spec.test_limit, data_dir,
                                cpus_per_trial)
            running[ref] = (t, time.time())
            echo(f"[sweep] started {t.id} ({len(running)} running, {len(pending)} waiting)")
        ready, _ = ray.wait(list(running), num_returns=1)
        for ref in ready:
            t, t0 = running.pop(ref)
            base = {"id": t.id, "group": t.group, "stage": t.stage, "params": t.params,
                    "dataset": spec.dataset, "target": spec.target, "spec": spec.name,
                    "wall_s": round(time.time() - t0, 1)}
            try:
                result = ray.get(ref)
            except Exception as exc:  # the trial's own error, or a worker dead too often
                reason = one_line(_cause(exc))[:400]
                rec = dict(base, status="failed", error=reason)
                summary["failed"].append(t.id)
                echo(f"[sweep] FAILED {t.id}: {reason}")
            else:
                rec = dict(base, status="ok", **result["record"])
                models = out / "models"
                models.mkdir(parents=True, exist_ok=True)
                (models / f"{t.id}.tflite").write_bytes(result["tflite"])
                _write_json(models / f"{t.id}.json", result["sidecar"])
                (out / "logs").mkdir(parents=True, exist_ok=True)
                (out / "logs" / f"{t.id}.log").write_text(result["log"])
                summary["ran"].append(t.id)
            _write_json(out / "trials" / f"{t.id}.json", rec)
            records[t.id] = rec
            done += 1
            if rec["status"] == "ok":
                echo(f"[sweep] {done}/{len(todo)} {t.id}: accuracy {100 * rec['accuracy']:.2f} %, "
                     f"flash {rec['flash_bytes']:,} B, RAM {rec['ram_bytes']:,} B, "
                     f"{rec['instructions_per_inference']:,} instructions "
                     f"({rec['wall_s']:.0f} s){_eta(started, done, len(todo))}")


def _eta(started: float, done: int, total: int) -> str:
    """'; 12 min so far, about 30 min to go' from the pace so far."""
    if done >= total:
        return ""
    spent = time.time() - started
    return f"; {spent / 60:.0f} min so far, about {spent / done * (total - done) / 60:.0f} min to go"


def _cost(params) -> float:
    """Relative training time: steps run (batches of the training images)."""
    images = params["train_limit"] or 60_000
    return params["epochs"] * images / params["batch_size"] + params["epochs"] * images / 512


def _cause(exc) -> str:
    """The message of what really went wrong inside a Ray task error."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        return f"{cause.__class__.__name__}: {cause}" if not isinstance(cause, BnnkitError) \
            else str(cause)
    text = str(exc).strip().splitlines()
    return text[-1] if text else exc.__class__.__name__
