"""Build a generated project and run it on its target (host, QEMU)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import BnnkitError
from .targets import Target


@dataclass
class RunResult:
    predictions: np.ndarray  # int (N,)
    scores: np.ndarray  # float32 (N, n_out)
    stats: dict  # "# key value" lines of the harness


def make(project: Path, target: Target, timeout: float = 300, defines: str = "") -> Path:
    """``make -C project/app`` (``defines``: e.g. ``-DBNN_PROFILE`` for every
    file); returns the built executable/ELF."""
    target.check_tools()
    project = Path(project) / "app"
    if not (project / "Makefile").is_file():
        raise BnnkitError(f"{project.parent}: no example application to build (made with --no-app?)")
    try:
        res = subprocess.run(["make", "-s", "-C", str(project), f"BNN_DEFINES={defines}"],
                             capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BnnkitError(f"{project}: build timed out after {timeout:.0f} s", 1) from None
    if res.returncode != 0:
        first = next((line for line in (res.stderr + res.stdout).splitlines() if "error" in line),
                     res.stderr.strip()[:300])
        raise BnnkitError(f"{project}: build failed: {first}", 1)
    return project / target.exe


def copy_sources(project: Path, dest: Path) -> Path:
    """Copy a generated project (library and application) to ``dest`` without
    what a build of it left (objects, ELF, map, the host executable, run files).

    Example:
        >>> copy_sources(Path("build/m4"), Path("/tmp/m4-copy"))  # doctest: +SKIP
        PosixPath('/tmp/m4-copy')
    """
    import shutil

    def products(folder, names):
        out = [n for n in names if n.endswith((".o", ".su", ".elf", ".map", ".bin", ".log"))
               or n in ("predictions.txt", "one.txt", "out.txt")]
        return out + (["model"] if Path(folder).name == "app" and "model" in names else [])

    shutil.copytree(project, dest, ignore=products)
    return dest


def write_images(path: Path, images: np.ndarray, dtype=np.uint8) -> None:
    """The harness's input file: raw uint8 pixels or float32 values, back to back."""
    np.ascontiguousarray(images, dtype=dtype).tofile(path)


def parse_predictions(path: Path, n_out: int) -> RunResult:
    preds, scores, stats = [], [], {}
    try:
        text = path.read_text()
    except OSError as exc:
        raise BnnkitError(f"{path}: the firmware wrote no predictions ({exc.strerror})", 1) from None
    for line in text.splitlines():
        if line.startswith("#"):
            key, _, value = line[1:].strip().partition(" ")
            stats[key] = int(value)
            continue
        parts = line.split()
        if len(parts) != n_out + 1:
            raise BnnkitError(f"{path}: malformed prediction line {line[:60]!r}", 1)
        preds.append(int(parts[0]))
        scores.append([int(p, 16) for p in parts[1:]])
    if "images" not in stats:
        raise BnnkitError(f"{path}: incomplete output (the firmware stopped early)", 1)
    bits = np.array(scores, dtype=np.uint32).reshape(-1, n_out)
    return RunResult(np.array(preds, dtype=np.int64), bits.view(np.float32), stats)


def run_host(exe: Path, images_file: Path, out_file: Path, timeout: float) -> None:
    run_checked([str(exe), str(images_file), str(out_file)], exe, timeout)


def _die_with_parent():
    """In the child, before exec: SIGKILL when the bnnkit process dies, however
    it dies (Linux's PR_SET_PDEATHSIG), so a killed run leaves no QEMU behind."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the timeout still ends it
        pass


def run_checked(cmd, what, timeout, cwd=None):
    """Run ``cmd`` (an emulator or a built program); a failure is one line
    about ``what``. The process dies with bnnkit."""
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd,
                             preexec_fn=_die_with_parent)
    except subprocess.TimeoutExpired:
        raise BnnkitError(f"{what}: timed out after {timeout:.0f} s (--timeout)", 1) from None
    except OSError as exc:
        raise BnnkitError(f"{what}: cannot run ({exc.strerror})", 1) from None
    if res.returncode != 0:
        detail = (res.stdout + res.stderr).strip().splitlines()
        raise BnnkitError(f"{what}: exited with status {res.returncode}"
                          + (f": {detail[-1][:200]}" if detail else ""), 1)
    return res
