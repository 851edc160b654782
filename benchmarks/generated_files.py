"""Every shipped model generated for every target, one sha256 per generated file:
run it before and after a change to the generator or the runtime and diff the two
listings to see exactly which generated files the change touched.

    python benchmarks/generated_files.py > before.txt   # ... change ...
    python benchmarks/generated_files.py > after.txt && diff before.txt after.txt
"""

import argparse
import hashlib
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "toolchain"))


def main():
    from bnnkit.emit import generate
    from bnnkit.errors import BnnkitError
    from bnnkit.targets import TARGETS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=str(ROOT / "models"), help="folder of .tflite files")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for model in sorted(Path(args.models).glob("*.tflite")):
            for target in TARGETS:
                out = Path(tmp) / model.stem / target
                try:
                    generate(model, target, out, check_budget=False)
                except BnnkitError as exc:
                    print(f"refused {model.stem} {target}: {exc}")
                    continue
                for f in sorted(p for p in out.rglob("*") if p.is_file()):
                    digest = hashlib.sha256(f.read_bytes()).hexdigest()[:16]
                    print(f"{digest} {model.stem}/{target}/{f.relative_to(out)}", flush=True)


if __name__ == "__main__":
    main()
