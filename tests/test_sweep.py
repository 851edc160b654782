"""bnnkit sweep / sweep-report: specs checked as hostile input, the threshold
search's candidates, Pareto fronts, and real sweeps on a local Ray (small data):
every record written, a rerun skipping them, a killed worker retried."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import assert_not_blank, needs_fashion, run_cli, screenshot
from bnnkit.layers import validate_thresholds
from bnnkit.sweep import jitter_thresholds, pixel_quantile_thresholds
from bnnkit.sweep_report import pareto

ROOT = Path(__file__).resolve().parents[1]

# Three LeNets with three binary layers of different widths, each trained one
# epoch on 3,000 images and measured on 100 test images: the whole chain, small.
TINY = """
name: tiny
dataset: fashion-mnist
target: cortex-m4
test_limit: 100
defaults: {arch: lenet_bin3, epochs: 1, train_limit: 3000, seed: 3}
groups:
  - name: widths
    x: binary_widths
    grid:
      binary_widths: [[30, 21, 10], [60, 42, 10], [120, 84, 10]]
    paper:
      - {x: "Dense=(120, 84, 10)", accuracy: 90.52, note: "Table II"}
"""


def _spec(tmp_path, text, name="spec.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, message", [
    ("name: [unclosed", "not valid YAML"),
    ("- a list", "a sweep spec is a mapping"),
    ("groups: []\nsurprise: 1", "unknown key(s) surprise"),
    ("name: ../../etc\ngroups: [{grid: {seed: [1]}}]", "name '../../etc' must be"),
    ("groups: [{grid: {arch: [lenet_bin9]}}]", "arch 'lenet_bin9' is not one of"),
    ("groups: [{grid: {arch: [lenet_bin2], binary_widths: [[10]]}}]",
     "lenet_bin2 has 2 binary layer(s)"),
    ("groups: [{grid: {epochs: ['10; rm -rf /']}}]", "epochs must be an integer"),
    ("groups: [{grid: {thresholds: [[0, 200, 100]]}}]", "values must be increasing"),
    ("groups: [{grid: {seed: [1]}, paper: [{x: a, accuracy: 250}]}]", "is not a percentage"),
    ("target: host\ngroups: [{grid: {seed: [1]}}]", "is not an emulated device"),
    ("groups: [{grid: {seed: [1]}, name: 'a b'}]", "name 'a b' must be"),
    ("groups: [{grid: {seed: %s, epochs: %s}}]" % (list(range(101)), list(range(1, 101))),
     "over 10,000 points"),
    ("defaults: {arch: lenet_bin1}", "no trials"),
    ("target: [cortex-m4]\ngroups: [{grid: {seed: [1]}}]", "is not an emulated device"),
    ("groups: [{grid: {recipe: [[paper]]}}]", "recipe ['paper'] is not one of"),
    ("groups: [{x: seed, grid: {1: [2]}}]", "unknown parameter(s) 1"),
])
def test_bad_spec_is_one_line(tmp_path, text, message):
    spec = _spec(tmp_path, text)
    res = run_cli("sweep", spec, "-o", tmp_path / "out")
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    assert str(spec) in lines[0] and message in lines[0], lines[0]
    assert not (tmp_path / "out").exists()  # nothing written for a rejected spec


def test_missing_spec_and_bad_report_folder(tmp_path):
    res = run_cli("sweep", tmp_path / "nope.yaml")
    assert res.returncode == 2 and "nope.yaml: no such sweep spec" in res.stderr
    (tmp_path / "empty").mkdir()
    res = run_cli("sweep-report", tmp_path / "empty")
    assert res.returncode == 2 and "not a sweep folder" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 255), min_size=1, max_size=400), st.integers(2, 30))
def test_quantile_candidates_are_valid_lists(pixels, channels):
    lists = pixel_quantile_thresholds(np.array(pixels, np.uint8), channels)
    assert lists
    for t in lists:
        assert validate_thresholds(t) == t and len(t) == channels + 1
        assert t[0] == 0 and t[-1] == 255


def test_quantile_candidates_follow_the_pixels():
    # half background, the foreground spread evenly over 1..255
    pixels = np.concatenate([np.zeros(1020, np.uint8), np.repeat(np.arange(1, 256), 4)])
    fg, bg = pixel_quantile_thresholds(pixels, 4)
    assert fg == [0, 64, 128, 192, 255]  # equal shares of the non-zero pixels
    assert bg == [0, 1, 86, 170, 255]    # background alone, then thirds


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 254), min_size=1, max_size=10, unique=True), st.integers(1, 64),
       st.integers(0, 1000))
def test_jitter_keeps_a_valid_list(inner, step, seed):
    import random

    best = [0] + sorted(inner) + [255]
    moved = jitter_thresholds(best, step, random.Random(seed))
    assert validate_thresholds(moved) == moved and len(moved) == len(best)
    assert all(abs(a - b) <= step + len(best) for a, b in zip(moved, best))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.integers(1, 10**6)), min_size=1, max_size=30))
def test_pareto_front_is_exactly_the_undominated_points(points):
    recs = [{"accuracy": a, "flash": f, "i": i} for i, (a, f) in enumerate(points)]
    front = {r["i"] for r in pareto(recs, "flash")}

    def dominated(r):
        return any(o is not r and o["accuracy"] >= r["accuracy"] and o["flash"] <= r["flash"]
                   and (o["accuracy"] > r["accuracy"] or o["flash"] < r["flash"]) for o in recs)

    for r in recs:
        if dominated(r):
            assert r["i"] not in front
    # every undominated accuracy/flash pair is represented on the front
    kept = {(r["accuracy"], r["flash"]) for r in recs if r["i"] in front}
    assert {(r["accuracy"], r["flash"]) for r in recs if not dominated(r)} == kept


def _records(out):
    return {p.stem: p.read_bytes() for p in sorted((out / "trials").glob("*.json"))}


@needs_fashion
def test_three_trial_sweep_then_rerun_skips(tmp_path):
    spec, out = _spec(tmp_path, TINY), tmp_path / "out"
    res = run_cli("sweep", spec, "--workers", "2", "-o", out, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "3 trials run, 0 already done, 0 failed" in res.stdout
    first = _records(out)
    assert len(first) == 3
    widths = set()
    for blob in first.values():
        rec = json.loads(blob)
        assert rec["status"] == "ok" and rec["test_images"] == 100
        assert rec["agreement"] == 1.0 and rec["accuracy"] == rec["lce_accuracy"]  # LCE's bytes
        assert 0.25 < rec["accuracy"] <= 1.0  # one epoch on 3,000 images: well above chance
        assert rec["flash_bytes"] > rec["model_bytes"] > 0 and rec["ram_bytes"] > 0
        assert rec["instructions_per_inference"] > 100_000
        assert (out / "models" / f"{rec['id']}.tflite").is_file()
        widths.add(tuple(rec["params"]["binary_widths"]))
    assert widths == {(30, 21, 10), (60, 42, 10), (120, 84, 10)}
    by_width = {tuple(json.loads(b)["params"]["binary_widths"]): json.loads(b)
                for b in first.values()}
    # wider binary layers: more bits of weights, more work on the device
    assert by_width[(30, 21, 10)]["model_bytes"] < by_width[(120, 84, 10)]["model_bytes"]
    assert (by_width[(30, 21, 10)]["instructions_per_inference"]
            < by_width[(120, 84, 10)]["instructions_per_inference"])

    t0 = time.time()
    res = run_cli("sweep", spec, "--workers", "2", "-o", out)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "0 trials run, 3 already done, 0 failed" in res.stdout
    assert time.time() - t0 < 60  # no Ray, no training: nothing to do
    assert _records(out) == first
    runs = json.loads((out / "sweep.json").read_text())["runs"]
    assert len(runs) == 1 and len(runs[0]["ran"]) == 3 and runs[0]["workers"] == 2  # the rerun did nothing

    res = run_cli("sweep-report", out)
    assert res.returncode == 0, res.stderr
    md = (out / "report.md").read_text()
    assert "| Dense=(120, 84, 10) |" in md and "paper: Dense=(120, 84, 10) | 90.52 %" in md
    assert "Front on flash: bin3 30/21/10" in md
    for name in ("widths.png", "pareto.png", "report.html"):
        assert (out / name).stat().st_size > 5000
    assert_not_blank(screenshot(out / "report.html", tmp_path / "page.png"))


def _parent(pid):
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2:].split()[1])


def _trial_workers(root):
    """PIDs of the Ray workers under process ``root`` running a trial (Ray
    titles them so); other sweeps on the machine are left alone."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if not (proc / "cmdline").read_bytes().startswith(b"ray::run_trial"):
                continue
            pid = int(proc.name)
            while pid > 1 and pid != root:
                pid = _parent(pid)
        except (OSError, ValueError):
            continue
        if pid == root:
            pids.append(int(proc.name))
    return pids


@needs_fashion
def test_killed_worker_costs_only_its_trial(tmp_path):
    spec, out = _spec(tmp_path, TINY.replace("seed: 3", "seed: 4")), tmp_path / "out"
    exe = Path(sys.executable).parent / "bnnkit"
    proc = subprocess.Popen([str(exe), "sweep", str(spec), "--workers", "1", "-o", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 600
        while len(_records(out) if (out / "trials").is_dir() else {}) < 1:
            assert proc.poll() is None and time.time() < deadline, proc.communicate()
            time.sleep(0.5)
        before = _records(out)
        victims = []
        while not victims:  # the next trial's worker, one at a time
            assert proc.poll() is None and time.time() < deadline
            victims = _trial_workers(proc.pid)
            time.sleep(0.2)
        time.sleep(3)  # well inside the trial (TensorFlow importing or training)
        assert len(_records(out)) == len(before)
        os.kill(victims[0], signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=900)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr[-3000:]
    assert "3 trials run, 0 already done, 0 failed" in stdout
    after = _records(out)
    assert len(after) == 3
    for tid, blob in before.items():  # the finished record was never touched
        assert after[tid] == blob
    recs = [json.loads(b) for b in after.values()]
    assert all(r["status"] == "ok" for r in recs)
    # the killed trial was run again, in another process
    assert victims[0] not in {r["worker"]["pid"] for r in recs}


@pytest.mark.parametrize("payload", ['{"id": "x"', '[1, 2]',
                                     '{"id": "rec", "status": "ok", "params": {}, "accuracy": "high"}',
                                     '{"id": "rec", "status": "ok", "params": {"arch": "rm -rf"}}'])
def test_report_rejects_a_tampered_record(tmp_path, payload):
    out = tmp_path / "sweep"
    (out / "trials").mkdir(parents=True)
    (out / "spec.yaml").write_text(TINY)
    (out / "trials" / "rec.json").write_text(payload)
    res = run_cli("sweep-report", out)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    line, = res.stderr.strip().splitlines()
    assert "rec.json: not a bnnkit trial record" in line
    assert not (out / "report.md").exists()


SEARCH = """
name: search
dataset: fashion-mnist
target: cortex-m4
defaults: {arch: lenet_bin3, epochs: 1, train_limit: 500}
groups:
  - name: lists
    grid: {thresholds: [[0, 100, 200, 255], [0, 50, 150, 255], [0, 128, 255]]}
threshold_search:
  name: auto
  channels: 3
  refine_rounds: 1
  per_round: 2
  step: 10
  confirm_seeds: [1, 2]
"""


def _fake(trial, accuracy):
    return {"id": trial.id, "group": trial.group, "stage": trial.stage, "params": trial.params,
            "status": "ok", "accuracy": accuracy, "instructions_per_inference": 1000,
            "flash_bytes": 100}


def test_threshold_search_stages_and_verdict(tmp_path):
    """quantile candidates -> refinement around the best -> confirmation of the
    best and the paper's rival with fresh seeds -> the verdict on those seeds."""
    from bnnkit.sweep import confirm, expand, load_spec, refine
    from bnnkit.sweep_report import search_verdict

    spec = load_spec(_spec(tmp_path, SEARCH))
    pixels = np.concatenate([np.zeros(500, np.uint8), np.arange(1, 256, dtype=np.uint8)])
    first = expand(spec, pixels)
    grid = [t for t in first if t.stage == "grid"]
    quantile = [t for t in first if t.stage == "quantile"]
    assert len(grid) == 3 and len(quantile) == 2
    assert all(len(t.params["thresholds"]) == 4 and t.group == "auto" for t in quantile)
    records = {t.id: _fake(t, acc) for t, acc in zip(grid + quantile, [.80, .84, .70, .83, .81])}

    round1 = refine(spec, records, 0)
    assert len(round1) == 2 and all(t.stage == "refine1" for t in round1)
    best_q = quantile[0].params["thresholds"]  # 0.83, the better candidate
    for t in round1:
        assert all(abs(a - b) <= 10 + 3 for a, b in zip(t.params["thresholds"], best_q))
    records.update({t.id: _fake(t, acc) for t, acc in zip(round1, [.86, .79])})
    # a rerun regenerates the same round (so its finished trials are skipped)
    assert [t.id for t in refine(spec, records, 0)] == [t.id for t in round1]

    checks = confirm(spec, records)
    assert sorted((t.params["seed"], t.group) for t in checks) == [
        (1, "auto"), (1, "lists"), (2, "auto"), (2, "lists")]
    assert {tuple(t.params["thresholds"]) for t in checks} == {
        tuple(round1[0].params["thresholds"]), (0, 50, 150, 255)}  # best searched, best rival
    v = search_verdict(spec, records)
    assert v["best"]["id"] == round1[0].id and v["rival"]["id"] == grid[1].id
    assert v["as_good"] is True and v["confirm"] is None  # one seed: 0.86 >= 0.84

    # on fresh seeds the searched list is behind: the verdict follows them
    for t in checks:
        records[t.id] = _fake(t, .80 if t.group == "auto" else .82)
    v = search_verdict(spec, records)
    assert v["confirm"]["seeds"] == [1, 2] and v["as_good"] is False
    assert v["confirm"]["best"] == pytest.approx(.80) and v["confirm"]["rival"] == pytest.approx(.82)


def test_a_local_ray_listens_on_loopback_only():
    """The Ray a local sweep starts (GCS, raylet, workers, agents, this driver)
    accepts connections on loopback only, and runs no dashboard."""
    import os
    import re
    import subprocess

    from bnnkit.sweep import _start_ray

    ray = _start_ray(None, 1, 1)
    try:
        assert ray.get(ray.remote(lambda: 7).remote()) == 7  # a worker started
        listening = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True,
                                   check=True).stdout.splitlines()
        pids = {str(os.getpid())}
        for line in subprocess.run(["ps", "-eo", "pid,ppid,comm"], capture_output=True,
                                   text=True, check=True).stdout.splitlines()[1:] * 4:
            pid, ppid, _ = line.split(None, 2)
            if ppid in pids:
                pids.add(pid)  # Ray's processes: this one's descendants
        ours = [line for line in listening
                if any(f"pid={p}," in line for p in pids)]
        assert len(ours) >= 3, listening  # GCS, raylet, a worker at least
        for line in ours:
            local = line.split()[3]
            assert re.match(r"(127\.0\.0\.1|\[::ffff:127\.0\.0\.1\]|\[::1\]):\d+$", local), line
        assert "dashboard" not in " ".join(ours)
    finally:
        ray.shutdown()
