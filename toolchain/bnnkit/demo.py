"""``make demo``: the shipped lenet_bin3 through convert, gen-firmware and the
emulated Cortex-M4 on all 10,000 Fashion-MNIST test images, then the report."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from .errors import BnnkitError

ROOT = Path(__file__).resolve().parent.parent.parent


def step(n: int, total: int, text: str, t0: float) -> None:
    print(f"\n[{n}/{total}] {text}  (t = {time.monotonic() - t0:.0f} s)", flush=True)


def main() -> int:
    from .convert import convert
    from .emit import generate
    from .inspection import describe_tflite
    from .report import markdown, run, write
    from .simulate import format_record, simulate, write_json

    t0 = time.monotonic()
    build = ROOT / "build" / "demo"
    models = ROOT / "models"
    total = 4
    try:
        step(1, total, "LCE converts the shipped lenet_bin3.h5", t0)
        tfl = convert(models / "lenet_bin3.h5", build / "lenet_bin3.tflite")
        print(describe_tflite(tfl))

        step(2, total, "bnnkit gen-firmware --target cortex-m4", t0)
        gen = generate(tfl, "cortex-m4", build / "lenet_bin3-cortex-m4")
        print(f"{gen.out_dir}: {gen.model_bytes:,} bytes of model constants "
              f"(LCE's flatbuffer: {tfl.stat().st_size:,} bytes), "
              f"{gen.program.arena_bytes:,}-byte arena")

        step(3, total, "QEMU mps2-an386 (Cortex-M4F) classifies all 10,000 test images", t0)
        record, extra = simulate(tfl, "cortex-m4", build_dir=build / "sim", show_progress=True)
        print(format_record(record, extra))
        write_json(record, build / "lenet_bin3-cortex-m4.json")

        step(4, total, "the paper's Table II beside the four shipped LeNets on the Cortex-M4", t0)
        rows = run(models, "cortex-m4", None, None, 600, measured={"lenet_bin3": record})
        print(markdown(rows, "cortex-m4"))
        # under build/, so a fresh clone stays clean ('bnnkit report' writes docs/)
        md, png = write(rows, "cortex-m4", build)
        print(f"wrote {md.relative_to(ROOT)} and {png.relative_to(ROOT)}")
    except BnnkitError as exc:
        print(f"bnnkit: error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"\ndemo finished in {(time.monotonic() - t0) / 60:.1f} minutes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
