"""All benchmarks, full test sets: host vs LCE, then the emulated devices, then the
summation-order check of the float convolutions (its own 1,500 images), then the
public binary networks (zoo.py) and their binary kernels against the floors
(binary.py), MLPerf Tiny's int8 models beside TFLite Micro + CMSIS-NN
(mlperf_tiny.py, from ../shared/data/mlperf-tiny), the arena and RAM of real networks
beside the parts they target and TFLM's (memory.py), then how a sweep scales from 1 to
2 Ray workers (sweep_scaling.py)."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    for script in ("host_vs_lce.py", "devices.py"):
        print(f"\n== {script}", flush=True)
        rc = subprocess.call([sys.executable, str(HERE / script), *sys.argv[1:]])
        if rc:
            sys.exit(rc)
    for script in ("conv_order.py", "zoo.py", "binary.py", "mlperf_tiny.py", "memory.py",
                   "sweep_scaling.py"):
        print(f"\n== {script}", flush=True)
        rc = subprocess.call([sys.executable, str(HERE / script)])
        if rc:
            sys.exit(rc)
