"""Running firmware under emulation (filled in for cortex-m4 and arm64)."""

from __future__ import annotations

from .errors import BnnkitError


def run_device(target, exe, images_file, out_file, timeout):
    raise BnnkitError(f"target {target.name}: running on the emulator is not available yet")


def device_figures(gen, exe, one_image, workdir, timeout, stats):
    raise BnnkitError(f"target {gen.target.name}: device figures are not available yet")
