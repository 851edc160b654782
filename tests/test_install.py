"""bnnkit as a user installs it: a wheel, not the clone. The C runtime (kernels,
templates, boards, harness) travels inside the package, so gen-firmware and the
generated application's make work from any folder."""

import os
import shutil
import subprocess
import sys
import zipfile

from helpers import MODELS, ROOT


def test_a_wheel_installed_elsewhere_generates_and_builds(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for f in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / f, src / f)
    shutil.copytree(ROOT / "toolchain", src / "toolchain",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    wheels = tmp_path / "wheels"
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w",
                          str(wheels), str(src)], capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    (wheel,) = wheels.glob("bnnkit-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "bnnkit/runtime/kernels/bnn_kernels.h" in names
    assert "bnnkit/runtime/templates/model.c.j2" in names
    assert "bnnkit/runtime/boards/mps2/mps2.ld" in names

    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(site), str(wheel)], check=True, capture_output=True)
    work = tmp_path / "elsewhere"
    work.mkdir()
    shutil.copy(MODELS / "lenet_bin3.tflite", work / "m.tflite")
    shutil.copy(MODELS / "lenet_bin3.json", work / "m.json")
    env = dict(os.environ, PYTHONPATH=str(site))
    where = subprocess.run([sys.executable, "-c", "import bnnkit; print(bnnkit.__file__)"],
                           cwd=work, env=env, capture_output=True, text=True, check=True)
    assert where.stdout.startswith(str(site))  # the installed copy, not the clone's
    res = subprocess.run([sys.executable, "-m", "bnnkit", "gen-firmware", "m.tflite",
                          "--target", "host", "-o", "out"], cwd=work, env=env,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert (work / "out" / "m" / "bnn_kernels.h").is_file()
    subprocess.run(["make", "-s", "-C", str(work / "out" / "app")], check=True)
    images = work / "images.bin"
    images.write_bytes(bytes(range(256)) * 3 + bytes(784 * 2 - 768))  # two images
    out = work / "pred.txt"
    subprocess.run([str(work / "out" / "app" / "model"), str(images), str(out)], check=True)
    assert "# images 2" in out.read_text().splitlines()
