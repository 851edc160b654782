"""``bnnkit simulate``: the generated C against LCE's interpreter, image by image.

Example:
    >>> from bnnkit.simulate import simulate
    >>> record, extra = simulate("models/lenet_bin3.tflite", "host", limit=500)  # doctest: +SKIP
    >>> record["agreement"]                                                       # doctest: +SKIP
    1.0
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from . import data as datamod
from . import preprocess
from .build import make, parse_predictions, run_host, write_images
from .emit import generate
from .errors import BnnkitError
from .outdir import temp_dir

HOST_KEYS = ("model", "target", "n_images", "reference", "accuracy", "reference_accuracy", "agreement",
             "max_abs_diff", "model_bytes", "arena_bytes")
CHUNK = 1000  # images per firmware run: progress, and a bounded emulator run each


def _progress(total: int, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="img", disable=not enabled, file=sys.stderr,
                dynamic_ncols=True, leave=False)


def run_firmware(gen, exe: Path, images: np.ndarray, timeout: float, progress=None):
    """Run the built firmware over ``images`` in chunks; concatenate results."""
    from .device import run_device

    preds, scores, stats = [], [], {}
    # Files go beside the executable: the emulators exchange them there, so
    # nothing is written twice.
    img_file = exe.parent / "images.bin"
    out_file = exe.parent / "predictions.txt"
    for start in range(0, len(images), CHUNK):
        chunk = images[start:start + CHUNK]
        out_file.unlink(missing_ok=True)
        write_images(img_file, chunk, gen.input_dtype)
        if gen.target.name == "host":
            run_host(exe, img_file, out_file, timeout)
        else:
            run_device(gen.target, exe, img_file, out_file, timeout)
        res = parse_predictions(out_file, gen.program.output_floats)
        if len(res.predictions) != len(chunk):
            raise BnnkitError(f"{exe}: classified {len(res.predictions)} of {len(chunk)} images", 1)
        preds.append(res.predictions)
        scores.append(res.scores)
        for k, v in res.stats.items():
            stats[k] = stats.get(k, 0) + v if k in ("images", "elapsed_ns") else max(stats.get(k, 0), v)
        if progress:
            progress.update(len(chunk))
    return np.concatenate(preds), np.concatenate(scores), stats


def compare_on_inputs(model, x: np.ndarray, target: str = "host", build_dir=None,
                      timeout: float = 600, input_spec: dict | None = None, io: str = "model",
                      reference: str | None = None):
    """Run ``x`` (N inputs, as the generated API takes them: uint8 pixels or the
    model's float32 input) through the generated C on ``target`` and through LCE's
    interpreter. Returns ``(c_outputs, lce_outputs, generated)``, both (N, outputs)
    (float32 scores, or uint32 words for a bit-packed output).

    Example:
        >>> x = np.random.default_rng(0).uniform(-1, 1, (20, 32, 32, 3)).astype(np.float32)
        >>> c, ref, gen = compare_on_inputs("quicknet.tflite", x)  # doctest: +SKIP
        >>> float(np.max(np.abs(c - ref)))                         # doctest: +SKIP
        0.0
    """
    run = run_comparison(model, x, target, build_dir, timeout, input_spec, io=io,
                         reference=reference)
    return run["outputs"], run["reference"], run["generated"]


def cpu_dependent_nodes(low) -> list[str]:
    """The nodes of a lowered network whose arithmetic in LCE's interpreter
    depends on the x86 CPU it runs on (LOGISTIC, TANH, HARD_SWISH through
    XNNPACK, SOFTMAX's exp and MEAN's Eigen sums: other kernels on AVX-512 than
    on AVX2), as ``"kind name"``. bnnkit computes them one way everywhere (the
    AVX2 arithmetic in portable C); an output downstream of one equals LCE's
    bytes on an AVX2 machine and is within :func:`ulps_apart` elsewhere.

    Example:
        >>> cpu_dependent_nodes(generate("real_to_binary_net.tflite", "host", "p").low)
        ... # doctest: +SKIP
        ['activation .../Sigmoid', 'mean .../Mean', ...]
    """
    from .ops import op_kind

    return [f"{n.kind} {n.name}" for n in low.nodes if op_kind(n.kind).lce_depends_on_cpu(n)]


def ulps_apart(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per row of two (N, outputs) float32 arrays: the largest difference in
    units of the last place of the row's largest magnitude (``b``'s), the
    scale-free measure of how far two float computations of one network are.

    Example:
        >>> ulps_apart(np.float32([[1.0, 0.5]]), np.float32([[1.0, 0.5 + 2**-23]]))
        array([1.])
    """
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    scale = np.spacing(np.abs(b).max(axis=1)).astype(np.float64)
    return np.abs(a.astype(np.float64) - b).max(axis=1) / scale


def reference_outputs(gen, x: np.ndarray, progress=None, timing=None, ready=None) -> np.ndarray:
    """The model's reference interpreter (``gen.low.reference``: LCE's, or
    TFLite's reference kernels) on ``x`` (raw inputs, as the generated API takes them),
    preprocessed as the generated C does: (N, outputs) in the form
    :func:`as_printed` gives the firmware's (float32 scores, uint32 words of a
    bit-packed output, int8 scores).

    Example:
        >>> ref = reference_outputs(generate("m.tflite", "host", "p"), pixels)  # doctest: +SKIP
    """
    from .reference import reference_predict

    ref = reference_predict(gen.low.reference, gen.flatbuffer,
                            preprocess.apply(gen.meta["preprocessing"], x, gen.input_shape,
                                             gen.input_quant),
                            progress=progress, timing=timing, ready=ready).reshape(len(x), -1)
    if gen.output_bits:
        return ref.astype(np.int32).view(np.uint32)
    if gen.low.kinds[gen.low.output] == "i8":
        return gen.api_outputs(ref.astype(np.int8))
    return ref.astype(np.float32)


def as_printed(gen, scores: np.ndarray) -> np.ndarray:
    """The harness's scores (parsed as float32 bit patterns) in the model's own
    output type."""
    if gen.output_bits:
        return scores.view(np.uint32)
    if gen.output_kind == "i8":  # the harness prints each int8 as its byte
        return scores.view(np.uint32).astype(np.uint8).view(np.int8)
    return scores


def execute(gen, exe: Path, x: np.ndarray, timeout: float, show_progress: bool = False) -> dict:
    """``x`` (raw inputs, as the generated API takes them) through the built
    firmware and through LCE's interpreter on the same flatbuffer."""
    n = len(x)
    bar = _progress(n, gen.target.name, show_progress)
    preds, scores, stats = run_firmware(gen, exe, x, timeout, bar)
    bar.close()
    bar = _progress(n, "LCE reference", show_progress)
    timing = {}
    # the bar's clock restarts once the interpreter is warm: its rate and time
    # left are the inferences', not TensorFlow's import and set-up
    ref = reference_outputs(gen, x, progress=bar.update, timing=timing, ready=bar.reset)
    bar.close()
    return {"predictions": preds, "outputs": as_printed(gen, scores), "reference": ref,
            "generated": gen, "executable": exe, "firmware_stats": stats,
            "c_us_per_inference": stats.get("elapsed_ns", 0) / 1e3 / max(n, 1),
            "lce_us_per_inference": 1e6 * timing.get("seconds", 0.0) / max(n, 1)}


def run_comparison(model, x: np.ndarray, target: str = "host", build_dir=None,
                   timeout: float = 600, input_spec: dict | None = None,
                   device: bool = False, io: str = "model", reference: str | None = None) -> dict:
    """:func:`compare_on_inputs` with everything measured on the way: a dict of
    outputs, reference, generated, firmware_stats, c_us_per_inference,
    lce_us_per_inference and, with ``device`` on an emulated target, the device
    figures (flash, RAM, instructions per inference on the first input)."""
    model = Path(model)
    tmp = None
    if build_dir is None:
        tmp = temp_dir("cmp")
        build_dir = tmp.name
    try:
        gen = generate(model, target, Path(build_dir) / f"{model.stem}-{target}",
                       input_spec=input_spec, io=io, reference=reference)
        exe = make(gen.out_dir, gen.target)
        run = execute(gen, exe, x, timeout)
        if device and target != "host":
            from .device import device_figures

            run.update(device_figures(gen, exe, x[:1], build_dir, timeout,
                                      run["firmware_stats"]))
        return run
    finally:
        if tmp is not None:
            tmp.cleanup()


def simulate(model, target: str = "host", dataset: str | None = None, limit: int | None = None,
             data_dir=None, timeout: float = 600, build_dir=None, show_progress: bool = False,
             flash_kib=None, ram_kib=None, profile: bool = False, data=None, input_spec=None,
             class_names=None, io: str = "model", reference: str | None = None):
    """Generate, build and run ``model`` on ``target`` over the test set (or
    ``data``: the user's .npz or image folder, as ``validate`` reads it; the
    accuracies need its labels), and compare with LCE's interpreter on the same
    flatbuffer. ``input_spec`` and ``class_names`` replace the sidecar's
    preprocessing and names, and ``io`` is NAME_run's form, as on gen-firmware. ``profile``:
    ``record["layers"]``, per layer the instructions of the first test image on
    an emulated target, or the time per input on the host (:mod:`bnnkit.profile`).

    Returns ``(record, extra)``: ``record`` has the documented JSON keys;
    ``extra`` holds timings and raw arrays for benchmarks.

    Example:
        >>> record, _ = simulate("models/lenet_bin3.tflite", "cortex-m4", limit=100)
        ... # doctest: +SKIP
        >>> record["agreement"], record["instructions_per_inference"]  # doctest: +SKIP
        (1.0, 1045659)
    """
    model = Path(model)
    tmp = None
    if build_dir is None:
        tmp = temp_dir("sim")
        build_dir = Path(tmp.name)
    build_dir = Path(build_dir)
    try:
        project = build_dir / f"{model.stem}-{target}"
        gen = generate(model, target, project, flash_kib, ram_kib, input_spec=input_spec,
                       class_names=class_names, io=io, reference=reference)
        exe = make(project, gen.target)
        if gen.target.machine:  # the linked ELF against the budget, before the long run
            from .device import io_buffer_bytes, linked_figures

            linked = linked_figures(gen, exe, io_buffer_bytes(gen.target, exe))
            gen.target.check_firmware(dict(linked, ram_bytes=linked["static_ram_bytes"],
                                           arena_bytes=gen.program.arena_bytes, stack_bytes=0),
                                      str(model), flash_kib, ram_kib, "not yet measured")
        if data is not None:
            from .validate import load_data

            images, labels = load_data(data, gen, data_dir, limit)
        else:
            dataset = dataset or gen.meta.get("dataset")
            if dataset is None:
                raise BnnkitError(f"{model}: no sidecar names the model's dataset; pass "
                                  "--dataset, or --data with your own inputs")
            test = datamod.load(dataset, "test", data_dir).limit(limit)
            if len(test.labels) and len(test.class_names) != gen.program.output_floats:
                raise BnnkitError(f"{model}: {gen.program.output_floats} outputs but {dataset} "
                                  f"has {len(test.class_names)} classes")
            images, labels = test.images, test.labels
        n = len(images)
        if n == 0:
            raise BnnkitError("no test images selected (--limit)")

        run = execute(gen, exe, images, timeout, show_progress)
        preds, scores, ref = run["predictions"], run["outputs"], run["reference"]
        ref_pred = ref.argmax(axis=1)
        record = {"model": str(model), "target": target, "n_images": n,
                  "reference": gen.low.reference}
        if labels is not None:  # the documented order: accuracies before agreement
            record["accuracy"] = round(float(np.mean(preds == labels)), 6)
            record["reference_accuracy"] = round(float(np.mean(ref_pred == labels)), 6)
        record.update({
            "agreement": round(float(np.mean(preds == ref_pred)), 6),
            "max_abs_diff": float(np.max(np.abs(scores.astype(np.float64) - ref))),
            "model_bytes": gen.model_bytes,
            "arena_bytes": gen.program.arena_bytes,
        })
        extra = {
            "predictions": preds, "scores": scores, "reference_scores": ref, "labels": labels,
            "firmware_stats": run["firmware_stats"],
            "lce_us_per_image": run["lce_us_per_inference"],
            "c_us_per_image": run["c_us_per_inference"], "generated": gen, "executable": exe,
        }
        if target != "host":
            from .device import device_figures

            record.update(device_figures(gen, exe, images[:1], build_dir, timeout,
                                         run["firmware_stats"]))
            if gen.target.machine:  # RAM again, now with the stack the run painted
                gen.target.check_firmware(record, str(model), flash_kib, ram_kib)
            if profile:
                from .profile import profile_device

                rows, before = profile_device(gen, images[:1], timeout)
                record["layers"], record["input_instructions"] = rows, before
        elif profile:
            from .profile import profile_host

            record["layers"] = profile_host(gen, images[:1000], timeout)
        return record, extra
    finally:
        if tmp is not None:
            tmp.cleanup()


def format_record(record: dict, extra: dict) -> str:
    from .lower import REFERENCE_SHORT, REFERENCES

    ref = REFERENCE_SHORT[record["reference"]]
    lines = [f"{record['model']} on {record['target']}: {record['n_images']:,} images",
             f"  reference          {REFERENCES[record['reference']]}"]
    if "accuracy" in record:
        lines.append(f"  accuracy           {100 * record['accuracy']:.2f} %  "
                     f"({ref} {100 * record['reference_accuracy']:.2f} %)")
    lines += [f"  agreement with {ref} {100 * record['agreement']:.2f} % of top-1, "
             f"max |score diff| {record['max_abs_diff']:.3g}",
             f"  model constants    {record['model_bytes']:,} bytes",
             f"  activation arena   {record['arena_bytes']:,} bytes"]
    if "flash_bytes" in record:
        lines += [f"  flash              {record['flash_bytes']:,} bytes "
                  f"(model {record['model_flash_bytes']:,}, kernels {record['code_flash_bytes']:,})",
                  f"  RAM                {record['ram_bytes']:,} bytes incl. stack "
                  f"({record.get('stack_bytes', 0):,}, painted); harness I/O buffers "
                  f"{record.get('io_buffer_bytes', 0):,} bytes apart",
                  f"  instructions       {record['instructions_per_inference']:,} per inference "
                  "(QEMU instruction count, not cycles)"]
    if "layers" in record and record["target"] == "host":
        from .profile import format_host_profile

        lines += ["", "  per layer (up to 1,000 test images, a -DBNN_PROFILE build; time on this "
                  "machine):"]
        lines += ["    " + line for line in format_host_profile(record["layers"]).split("\n")]
    elif "layers" in record:
        from .profile import format_profile

        lines += ["", "  per layer (first test image, a -DBNN_PROFILE build; QEMU instructions):"]
        lines += ["    " + line for line in format_profile(record["layers"],
                                                          record["input_instructions"]).split("\n")]
    if record["target"] == "host" and extra.get("c_us_per_image"):
        lines.append(f"  time per image     {extra['c_us_per_image']:.1f} us generated C vs "
                     f"{extra['lce_us_per_image']:.1f} us {ref} interpreter")
    return "\n".join(lines)


def write_json(record: dict, path) -> None:
    from .outdir import write_text

    write_text(path, json.dumps(record, indent=2) + "\n")
