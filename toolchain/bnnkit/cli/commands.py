"""Sub-commands of ``bnnkit`` (see :mod:`bnnkit.cli`)."""

from __future__ import annotations

from pathlib import Path

import click

from ..passes import PASS_NAMES
from ..targets import PARTS
from . import main

DOES_NOT_FIT = 3  # analyze's exit code when the model is over the budget
from .options import (COUNT, DATASET_CHOICE, SEED, TARGET_CHOICE, TARGETS_HELP, TIMEOUT,
                      class_names_option, data_dir_option, io_option,
                      preprocessing_options, reference_option, user_data_option)


@main.command()
@click.argument("arch", type=click.Choice(["lenet_float", "lenet_bin1", "lenet_bin2",
                                           "lenet_bin3", "qconvnet", "signnet"]))
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Where to write the .h5 (default: models/ARCH.h5); the sidecar goes beside it.")
@click.option("--recipe", type=click.Choice(["paper", "plus", "plus-shift"]), default="paper",
              show_default=True,
              help="'paper': Adam 1e-3, batch 64, 10 epochs. 'plus': 30 epochs, warm-up + cosine "
                   "decay. 'plus-shift': 'plus' for 40 epochs with +-2 px shifts.")
@click.option("--epochs", type=COUNT, help="Override the recipe's epochs (paper: 10).")
@click.option("--batch-size", type=COUNT, help="Override the recipe's batch size (64).")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--limit", type=COUNT, help="Train on the first N training images only.")
@click.option("--dataset", type=DATASET_CHOICE, default=None,
              help="Default: fashion-mnist (sign-mnist for signnet).")
@click.option("--thresholds", help="Binarize the input: cut pixels at e.g. 0,90,150,170,210,255.")
@click.option("--encoding", type=click.Choice(["interval", "thermometer"]), default="interval",
              show_default=True, help="How --thresholds become channels.")
@data_dir_option
@click.option("--int8", is_flag=True,
              help="Also write MODEL_int8.tflite, as 'bnnkit convert MODEL.h5 --int8' does, "
                   "fine-tuned with fake quantization if it loses too much accuracy.")
@click.option("--calibration-images", type=COUNT, default=500, show_default=True,
              help="With --int8: how many training images calibrate the activation ranges.")
@click.option("--calibration-data", type=click.Path(),
              help="With --int8: calibrate on these inputs (.npz or image folder) instead.")
@click.option("--max-int8-drop", type=click.FloatRange(0, 100), default=0.5, show_default=True,
              help="With --int8: fine-tune when int8 test accuracy is more than this many "
                   "points below float.")
@click.option("--qat-epochs", type=click.IntRange(0), default=2, show_default=True,
              help="With --int8: epochs of fine-tuning with fake quantization (0: never).")
@click.option("--always-fine-tune", is_flag=True,
              help="With --int8: fine-tune with fake quantization whatever int8 loses.")
def train(arch, output, recipe, epochs, batch_size, seed, limit, dataset, thresholds, encoding,
          data_dir, int8, calibration_images, calibration_data, max_int8_drop, qat_epochs,
          always_fine_tune):
    """Train ARCH with Adam and save MODEL.h5 plus its MODEL.json sidecar.

    The sidecar records the architecture, dataset, input preprocessing, recipe,
    seed, Keras train and test accuracy, larq's size summary and package versions.

    With --int8 the int8 model is made too: calibrated on training images,
    converted, its accuracy measured on the whole test set through LCE's
    interpreter. If it is more than --max-int8-drop points below the float
    model, a copy is fine-tuned for --qat-epochs epochs with the fake-quant
    nodes in place (quantization-aware training; Larq models only) and
    converted instead. MODEL.h5 keeps the float-trained weights.

    \b
    Examples:
      bnnkit train lenet_bin3
      bnnkit train lenet_bin3 --recipe plus --int8 -o models/lenet_bin3_plus.h5
    """
    from ..layers import parse_thresholds
    from ..metadata import check_sidecar_slot
    from ..outdir import check_file
    from ..train import train as run

    dataset = dataset or ("sign-mnist" if arch == "signnet" else "fashion-mnist")
    parsed = parse_thresholds(thresholds) if thresholds is not None else None
    output = output or f"models/{arch}.h5"
    check_file(output)
    check_sidecar_slot(output)
    if int8:
        from ..convert import int8_path

        check_file(int8_path(output))
        check_sidecar_slot(int8_path(output))
    meta = run(arch, output, epochs=epochs, batch_size=batch_size, seed=seed, limit=limit,
               data_dir=data_dir, recipe=recipe, dataset=dataset, thresholds=parsed,
               encoding=encoding, int8=int8, calibration_images=calibration_images,
               max_int8_drop=max_int8_drop / 100, qat_epochs=qat_epochs,
               always_fine_tune=always_fine_tune, calibration_path=calibration_data)
    s = meta["larq_summary"]
    click.echo(f"{output}: test accuracy {100 * meta['keras_test_accuracy']:.2f} %, train accuracy "
               f"{100 * meta['keras_train_accuracy']:.2f} %; {s['binary_params']:,} binary + "
               f"{s['float_params']:,} float parameters, {s['model_size_kib']} KiB (larq)")
    if int8:
        from ..convert import int8_path

        q = meta["int8"]
        tuned = (f", {100 * q['post_training_accuracy']:.2f} % before fine-tuning"
                 if "post_training_accuracy" in q else "")
        click.echo(f"{int8_path(output)}: int8 test accuracy {100 * q['test_accuracy']:.2f} %"
                   f"{tuned}")
        click.echo(format_float_layers(q.get("float_layers", [])))


def format_float_layers(layers: list[str], shown: int = 12) -> str:
    """What convert --int8 and train --int8 say about layers left in float32."""
    if not layers:
        return "int8: every layer runs int8 kernels (binary layers 1-bit)"
    lines = [f"int8: {len(layers)} layer(s) still run float32 kernels (slower; bnnkit "
             "keeps them exact):"] + [f"  {x}" for x in layers[:shown]]
    if len(layers) > shown:
        lines.append(f"  ... and {len(layers) - shown} more (the sidecar's int8.float_layers)")
    return "\n".join(lines)


@main.command()
@click.argument("model", type=click.Path())
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Where to write the flatbuffer (default: MODEL with .tflite, or "
                   "MODEL_int8.tflite with --int8).")
@click.option("--int8", is_flag=True,
              help="Full-integer int8 (int8 input and output) with TensorFlow's converter, "
                   "calibrated on training images: the kind of model TFLite Micro runs.")
@click.option("--calibration-images", type=COUNT, default=500, show_default=True,
              help="With --int8: how many training images (the first N of the sidecar's "
                   "dataset) calibrate the activation ranges.")
@click.option("--calibration-data", type=click.Path(exists=False),
              help="With --int8: calibrate on your own inputs instead: an .npz (x, optional "
                   "y) or a folder of images in class sub-folders (the first "
                   "--calibration-images of them); for any model, with a sidecar or not.")
@data_dir_option
def convert(model, output, int8, calibration_images, calibration_data, data_dir):
    """Convert a Larq MODEL.h5 to a TFLite flatbuffer with LCE's converter.

    Prints what the flatbuffer holds: ops by type, tensors, bytes of constants.
    The sidecar MODEL.json is copied beside the output; with --int8 it also
    records the calibration and the int8 model's accuracy on the whole test set.

    \b
    Examples:
      bnnkit convert models/lenet_bin3.h5
      bnnkit convert models/lenet_float.h5 --int8 -o models/lenet_float_int8.tflite
      bnnkit convert my_model.h5 --int8 --calibration-data calib.npz
    """
    from .. import convert as conv
    from .. import metadata
    from ..errors import BnnkitError
    from ..inspection import describe_tflite
    from ..outdir import check_file

    if calibration_data is not None and not int8:
        raise BnnkitError("--calibration-data calibrates an int8 conversion: add --int8")
    written = output or (conv.int8_path(model) if int8 else None)
    if written:  # else MODEL.tflite, whose sidecar is MODEL.json, the input's own
        check_file(written)
        metadata.check_sidecar_slot(written)
    out = conv.convert(model, output, int8=int8, calibration_images=calibration_images,
                       data_dir=data_dir, calibration_path=calibration_data)
    click.echo(f"wrote {out}")
    if int8:
        meta = metadata.load(out)
        q, float_acc = meta["int8"], meta.get("keras_test_accuracy")
        if "test_accuracy" in q:
            click.echo(f"int8 test accuracy {100 * q['test_accuracy']:.2f} %"
                       + (f" (float Keras {100 * float_acc:.2f} %)" if float_acc is not None
                          else ""))
        elif "calibration_data_accuracy" in q:
            click.echo(f"int8 accuracy on the calibration data "
                       f"{100 * q['calibration_data_accuracy']:.2f} % (no test set: the "
                       "model's sidecar names no dataset)")
        click.echo(format_float_layers(q.get("float_layers", [])))
    click.echo(describe_tflite(out))


@main.command()
@click.argument("file", type=click.Path())
@click.option("--passes", is_flag=True,
              help="For a .tflite: the kernel nodes after lowering and after each fusion pass.")
def inspect(file, passes):
    """Show what an existing .h5 or .tflite holds.

    \b
    Examples:
      bnnkit inspect models/lenet_bin3.tflite
      bnnkit inspect models/lenet_bin3.tflite --passes
    """
    from ..inspection import describe, describe_passes

    click.echo(describe_passes(file) if passes else describe(file))


@main.command()
@click.argument("model", type=click.Path(dir_okay=False))
@preprocessing_options
@class_names_option
@click.option("--dataset", type=DATASET_CHOICE,
              help="The built-in dataset the model classifies (simulate and report test on it).")
@click.option("--force", is_flag=True, help="Update an existing MODEL.json: the keys given are "
                                            "replaced, the others kept.")
def sidecar(model, input_spec, class_names, dataset, force):
    """Write MODEL.json, the sidecar every command reads beside MODEL, for a
    model bnnkit did not train: how raw input becomes the model's input, and
    what its outputs are called (docs/sidecar.md lists every key).

    \b
    Without --input the model takes its own input tensor. Checked against the
    model (one class name per output, one mean/std per channel) before writing.

    \b
    Examples:
      bnnkit sidecar kws.tflite --class-names words.txt
      bnnkit sidecar net.h5 --input uint8 --scale 0.00784313725 --offset -1
      bnnkit sidecar cifar.tflite --input uint8 --mean 0.4914,0.4822,0.4465 --std 0.247,0.2435,0.2616
    """
    from ..metadata import make_sidecar

    path = make_sidecar(model, input_spec, class_names, dataset, force)
    click.echo(f"wrote {path}")


@main.command("gen-firmware")
@click.argument("model", type=click.Path())
@click.option("--target", type=TARGET_CHOICE, default="host", show_default=True,
              help=TARGETS_HELP)
@click.option("-o", "--output", type=click.Path(file_okay=False),
              help="Project directory (default: build/MODEL-TARGET).")
@click.option("--flash-kib", type=COUNT,
              help="Flash budget of the whole firmware: constants, code, C library (Cortex-M "
                   "default: 1024 KiB). Checked on the linked example firmware.")
@click.option("--ram-kib", type=COUNT,
              help="RAM budget: arena, static data, stack (Cortex-M default: 128 KiB).")
@preprocessing_options
@click.option("--force", is_flag=True,
              help="Write into an existing folder bnnkit did not create (its other files stay; "
                   "files with the names bnnkit writes are replaced).")
@click.option("--name", help="The library's name: its folder and files, and the prefix of every "
                             "symbol and macro it exports (default: MODEL's file name).")
@click.option("--arena", type=click.Choice(["static", "caller"]), default="static",
              show_default=True,
              help="static: the arena is a static array in NAME.c; caller: NAME_run takes a "
                   "NAME_arena_t the caller places where it likes.")
@click.option("--no-app", is_flag=True, help="Write the library alone, without the example "
                                             "application.")
@click.option("--disable-pass", "disabled_passes", multiple=True, type=click.Choice(PASS_NAMES),
              help="Skip a fusion pass (repeatable), to compare or to isolate a problem; "
                   "'bnnkit inspect MODEL.tflite --passes' shows what each does.")
@class_names_option
@io_option
@reference_option
def gen_firmware(model, target, output, flash_kib, ram_kib, input_spec, force,
                 name, arena, no_app, disabled_passes, class_names, io, reference):
    """Generate a C library for MODEL (.tflite, or .h5 converted on the way)
    and an example application that runs it on TARGET.

    \b
    DIR/NAME/ is the library, for any C99 build of the target's core:
      NAME.h          the API: NAME_run(input, scores), sizes, memory, threading
      NAME.c          kernel calls over one arena
      NAME_data.c     the constants: 1-bit packed weights, thresholds, int8/float weights
      bnn_*.c, *.h    the runtime kernels it uses (their symbols prefixed NAME_)
      CMakeLists.txt  add_subdirectory(DIR/NAME); target_link_libraries(app NAME)
      NAME.mk         include DIR/NAME/NAME.mk; sources $(NAME_SRCS), flags $(NAME_CFLAGS)
      files.txt       every file of the library
    DIR/app/ is a firmware that classifies images with it: 'make -C DIR/app'
    builds it and 'make -C DIR/app run' runs it on images.bin (see 'bnnkit
    images'), with nothing of bnnkit installed.

    \b
    Every exported symbol, macro and header guard starts with NAME, so several
    models link into one firmware. NAME_run takes what the model's sidecar says
    (uint8 pixels, scaled inside), or else the model's own input tensor. For
    example, a model trained on images scaled to [-1, 1] takes pixels with:
      bnnkit gen-firmware net.tflite --input uint8 --scale 0.00784313725 --offset -1
    """
    from ..emit import generate

    out = Path(output) if output else Path("build") / f"{Path(model).stem}-{target}"
    gen = generate(model, target, out, flash_kib, ram_kib,
                   input_spec=input_spec, force=force,
                   name=name, arena=arena, app=not no_app, check_linked=True,
                   disabled_passes=disabled_passes, class_names=class_names, io=io,
                   reference=reference)
    if gen.replaced:
        click.echo(f"replaced your {', '.join(gen.replaced)} in {out}/ (--force)")
    click.echo(f"wrote {out}/{gen.name}/" + ("" if no_app else f" and {out}/app/")
               + f" for {target}: {len(gen.program.calls)} kernel calls, "
               f"{gen.model_bytes:,} bytes of model constants, "
               f"{gen.program.arena_bytes:,} bytes of arena")
    if gen.linked:
        flash, ram = gen.target.budget(flash_kib, ram_kib)
        click.echo(f"the example firmware fits {target}: {gen.linked['flash_bytes']:,} bytes of "
                   f"flash ({flash} KiB budget), {gen.linked['ram_bytes']:,} bytes of RAM "
                   f"({ram} KiB budget) with {gen.linked['stack_bytes']:,} of stack "
                   f"{gen.linked['stack_source']}")


@main.command()
@click.argument("model", type=click.Path())
@click.option("--target", type=TARGET_CHOICE, help="Default: the board's core, else cortex-m4.")
@click.option("--board", type=click.Choice(sorted(PARTS)),
              help="A part: its core is the target and its memory the budget.")
@click.option("--flash-kib", type=COUNT, help="Flash budget (default: the board's, else the "
                                              "target's).")
@click.option("--ram-kib", type=COUNT, help="RAM budget (default: the board's, else the target's).")
@click.option("--measure", is_flag=True,
              help="Also run one test image: instructions per layer on the emulator (and the "
                   "exact total), or time per layer on the host.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Write the analysis here.")
@click.option("--html", "html_out", type=click.Path(dir_okay=False),
              help="Write one self-contained HTML page: the table, bytes and work (or "
                   "instructions) per layer, the arena over the steps, the verdict.")
@user_data_option
@preprocessing_options
@reference_option
@data_dir_option
@click.option("--timeout", type=TIMEOUT, default=600, show_default=True)
def analyze(model, target, board, flash_kib, ram_kib, measure, json_out, html_out, user_data,
            input_spec, reference, data_dir, timeout):
    """What MODEL costs on a target, layer by layer, and whether it fits.

    \b
    Per layer: kernel, input and output shape and element kind, MACs, binary
    ops, bytes of constants, arena bytes live while it runs (and with
    --measure, instructions or microseconds). Totals: constants, arena and,
    on a bare-metal target, the example firmware linked as gen-firmware makes
    it (flash exactly; RAM = static data + the stack, measured on the emulator
    as simulate does, else the deepest call chain from gcc's call graph). The
    verdict compares them with the budget: headroom or overrun, and which
    layers dominate. Exit code 3 when the model does not fit (the report is
    printed and written all the same), so a CI job can gate on it.

    \b
    Examples:
      bnnkit analyze models/lenet_bin3.tflite --board stm32l476
      bnnkit analyze my_model.h5 --target cortex-m7 --flash-kib 256 --ram-kib 64
      bnnkit analyze models/lenet_bin3_int8.tflite --measure --json a.json
      bnnkit analyze models/qconvnet.tflite --board nrf52840 --html qconvnet.html
    """
    from ..analyze import analyze as run, format_text, write_html
    from ..outdir import check_file

    if json_out:
        check_file(json_out, "--json")
    if html_out:
        check_file(html_out, "--html")
    report = run(model, target, flash_kib, ram_kib, board, measure, data_dir, timeout,
                 data=user_data, input_spec=input_spec, reference=reference)
    click.echo(format_text(report))
    if json_out:
        from ..simulate import write_json

        write_json(report, json_out)
    if html_out:
        click.echo(f"wrote {write_html(report, html_out)}")
    return 0 if report["verdict"]["fits"] else DOES_NOT_FIT


@main.command()
@click.argument("model", type=click.Path())
@click.option("--data", "data", required=True,
              help="An .npz with x (and y), a folder of images in class sub-folders, or "
                   "fashion-mnist / sign-mnist (their test sets).")
@click.option("--target", type=TARGET_CHOICE, default="host", show_default=True)
@click.option("--limit", type=COUNT, help="Only the first N inputs.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Write the report here.")
@data_dir_option
@click.option("--timeout", type=TIMEOUT, default=600, show_default=True)
@class_names_option
@preprocessing_options
@io_option
@reference_option
def validate(model, data, target, limit, json_out, data_dir, timeout, class_names, input_spec, io,
             reference):
    """Run your own data through the generated C and through LCE's interpreter.

    \b
    x holds what the generated API takes: uint8 pixels (N, H, W[, C]) for a
    model whose sidecar gives its preprocessing, else the model's input tensor
    (float32, or int8 for an int8 model); y, if given, one class per input.
    Image folders are read as grayscale or RGB and resized to the model's input.
    Reports accuracy (C, interpreter, and Keras when MODEL.h5 lies beside a
    .tflite), top-1 agreement, max |diff|, RMSE and cosine similarity of the
    outputs, the confusion matrix and the inputs that disagree most.

    \b
    Examples:
      bnnkit validate models/lenet_bin3.tflite --data my_photos/ --target cortex-m4
      bnnkit validate models/lenet_bin3_int8.tflite --data fashion-mnist --limit 500
    """
    from ..outdir import check_file
    from ..validate import format_text, validate as run

    if json_out:
        check_file(json_out, "--json")
    report = run(model, data, target, limit, data_dir, timeout, show_progress=True,
                 class_names=class_names, input_spec=input_spec, io=io, reference=reference)
    click.echo(format_text(report))
    if json_out:
        from ..simulate import write_json

        write_json(report, json_out)


@main.command()
@click.argument("dataset", type=DATASET_CHOICE, required=False)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="images.bin",
              show_default=True, help="Where to write the images.")
@click.option("--split", type=click.Choice(["test", "train"]), default="test", show_default=True)
@click.option("--limit", type=COUNT, help="Only the first N images (default: all).")
@click.option("--data", "user_data", help="Your own inputs instead of DATASET: an .npz (x, "
              "optional y) or a folder of images in class sub-folders, as validate reads them.")
@click.option("--model", type=click.Path(dir_okay=False),
              help="With --data: the model whose input the file holds (its shape and type).")
@data_dir_option
def images(dataset, output, split, limit, user_data, model, data_dir):
    """Write DATASET's images, or your own inputs, as the example application reads them.

    The file holds the inputs back to back, row-major, as NAME_run takes them:
    uint8 pixels (28x28 for the built-in datasets) when the model's sidecar
    gives its preprocessing, else the model's own input tensor (float32, or
    int8). OUTPUT.labels gets their classes, one byte each, when known.

    \b
    Examples:
      bnnkit gen-firmware models/lenet_bin3.tflite --target cortex-m4 -o build/m4
      bnnkit images fashion-mnist --limit 100 -o build/m4/app/images.bin
      make -C build/m4/app run        # predictions.txt: class and scores per image
      bnnkit images --data my.npz --model my.tflite -o build/m4/app/images.bin
    """
    from .. import data
    from ..errors import BnnkitError
    from ..outdir import check_file, write_bytes

    out = check_file(output)
    labels = check_file(out.with_name(out.name + ".labels"))
    if user_data is not None or dataset is None:
        if user_data is None or model is None or dataset is not None:
            raise BnnkitError("bnnkit images takes DATASET, or --data and --model")
        from ..emit import generate
        from ..outdir import temp_dir
        from ..validate import load_data

        with temp_dir("images") as tmp:
            gen = generate(model, "host", Path(tmp) / "p", app=False, check_budget=False)
        x, y = load_data(user_data, gen, data_dir, limit)
        write_bytes(out, x.astype(gen.input_dtype).tobytes())
        if y is not None and y.max() < 256:
            write_bytes(labels, y.astype("uint8").tobytes())
        click.echo(f"wrote {out}: {len(x):,} inputs from {user_data} ({x[0].size} "
                   f"{gen.input_dtype.__name__} values each)"
                   + (f"; their classes in {labels}" if y is not None and y.max() < 256 else ""))
        return
    ds = data.load(dataset, split, data_dir).limit(limit)
    write_bytes(out, ds.images.astype("uint8").tobytes())
    write_bytes(labels, ds.labels.astype("uint8").tobytes())
    click.echo(f"wrote {out}: {len(ds.images):,} {dataset} {split} images "
               f"({ds.images[0].size} uint8 pixels each); their classes in {labels}")


@main.command()
@click.argument("model", type=click.Path())
@click.option("--target", type=TARGET_CHOICE, default="host", show_default=True)
@click.option("--dataset", type=DATASET_CHOICE, help="Default: the one in the model's sidecar.")
@user_data_option
@click.option("--limit", type=COUNT, help="Only the first N test images (default: all).")
@data_dir_option
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Write the figures here.")
@click.option("--timeout", type=TIMEOUT, default=600, show_default=True,
              help="Seconds each firmware run (up to 1,000 images) may take.")
@click.option("--build-dir", type=click.Path(file_okay=False),
              help="Keep the generated project here (default: a temporary directory).")
@click.option("--flash-kib", type=COUNT, help="Flash budget (cortex-m3/m4 default: 1024 KiB).")
@click.option("--ram-kib", type=COUNT, help="RAM budget (cortex-m3/m4 default: 128 KiB).")
@click.option("--profile", is_flag=True,
              help="Also per layer, from a second build with -DBNN_PROFILE: on cortex-m3/m4/arm64 "
                   "the instructions of the first image (MACs, instructions per MAC, share); on "
                   "the host the time per image over up to 1,000 images.")
@preprocessing_options
@class_names_option
@io_option
@reference_option
def simulate(model, target, dataset, user_data, limit, data_dir, json_out, timeout, build_dir,
             flash_kib, ram_kib, profile, input_spec, class_names, io, reference):
    """Run MODEL's generated C on TARGET over the test set and compare with LCE.

    \b
    Prints and (--json) writes: model, target, n_images, reference ("tflite":
    TFLite's reference kernels, for int8 models without LCE ops; "lce": LCE's
    interpreter), accuracy, reference_accuracy (that interpreter on the same
    flatbuffer), agreement
    (share of images with the same top-1), max_abs_diff (largest score
    difference), model_bytes, arena_bytes; on cortex-m3/m4/arm64 also flash_bytes,
    ram_bytes, model_flash_bytes, code_flash_bytes, instructions_per_inference.
    """
    from ..outdir import check_file, check_folder
    from ..simulate import format_record, simulate as run, write_json

    if json_out:
        check_file(json_out, "--json")
    if build_dir:
        check_folder(build_dir, "--build-dir")
    if user_data is not None and dataset is not None:
        from ..errors import BnnkitError

        raise BnnkitError("simulate takes --dataset or --data, not both")
    record, extra = run(model, target, dataset, limit, data_dir, timeout, build_dir,
                        show_progress=True, flash_kib=flash_kib, ram_kib=ram_kib, profile=profile,
                        data=user_data, input_spec=input_spec, class_names=class_names, io=io,
                        reference=reference)
    click.echo(format_record(record, extra))
    if json_out:
        write_json(record, json_out)


@main.command()
@click.argument("models", nargs=-1, type=click.Path())
@click.option("--target", type=TARGET_CHOICE, default="cortex-m4", show_default=True)
@click.option("--name", "report_name", default="models", show_default=True,
              help="With MODELS: the files are report-NAME.md/.json/.html.")
@click.option("--models-dir", type=click.Path(file_okay=False), default="models", show_default=True)
@click.option("--limit", type=COUNT, help="Only the first N test images (default: all 10,000).")
@data_dir_option
@click.option("--docs", type=click.Path(file_okay=False), default="docs", show_default=True,
              help="Where report-TARGET.md/.png/.json go.")
@click.option("--timeout", type=TIMEOUT, default=600, show_default=True)
@click.option("--suite", type=click.Choice(["lenet", "sign"]), default="lenet", show_default=True,
              help="lenet: paper 000's Table II (Fashion-MNIST). sign: paper 001's threshold "
                   "lists on Sign Language MNIST (needs --data-dir or BNNKIT_DATA_DIR).")
@user_data_option
@preprocessing_options
@class_names_option
@reference_option
def report(models, target, report_name, models_dir, limit, data_dir, docs, timeout, suite,
           user_data, input_spec, class_names, reference):
    """Run models on TARGET and report accuracy, size and speed beside the papers.

    \b
    With MODELS (any .tflite files, each with its sidecar naming its dataset,
    or all on your own inputs with --data FILE.npz|FOLDER, and --input/--scale/
    --mean/--std and --class-names for models without a sidecar):
    one table per dataset and image count (device and LCE accuracy, agreement,
    Keras accuracy, model bytes, flash, RAM, instructions), the papers' rows
    beside the shipped LeNets, and each model's per-layer instructions, written
    to DOCS/report-NAME.md, .json and .html (one self-contained page with
    accuracy against flash, every point labelled, and instructions per layer).
    Without MODELS, a suite:

    \b
    --suite lenet (default): the four LeNets beside Table II of "Optimization
    of Neural Networks" (Dziadek et al.):
    paper accuracy and kB; Keras test and train accuracy; on-device accuracy;
    agreement with LCE; LCE flatbuffer bytes; bnnkit model bytes; flash; RAM;
    instructions per inference (QEMU counts instructions, not cycles).
    --suite sign: signnet's float baseline and the eight threshold lists of
    "Optimizing CNNs Through Binarization" (Pajak et al.) beside its
    accuracies, with model bytes and RAM.

    \b
    Examples:
      bnnkit report models/lenet_bin3.tflite models/qconvnet.tflite --target cortex-m4
      bnnkit report models/*.tflite --target host --limit 1000 --name all-host
      bnnkit report my_kws.tflite --data my_clips.npz --class-names words.txt --name kws
      bnnkit report --target cortex-m4          # paper 000's table, all 10,000 images
    """
    from .. import report as rep
    from ..errors import BnnkitError
    from ..outdir import check_folder

    check_folder(docs, "--docs")
    if not models and (user_data or input_spec or class_names or reference):
        raise BnnkitError("--data, --input, --class-names and --reference apply to the MODELS "
                          "given, not to a suite")
    if models:
        if not report_name.replace("-", "_").isidentifier():
            raise BnnkitError(f"--name {report_name!r}: use letters, digits, '_' and '-'")
        for m in models:
            if not Path(m).is_file():
                raise BnnkitError(f"{m}: no such model file")
        rows = rep.run_models(models, target, limit, data_dir, timeout, data=user_data,
                              input_spec=input_spec, class_names=class_names,
                              reference=reference)
        click.echo(rep.markdown_models(rows, target))
        click.echo("wrote " + ", ".join(map(str, rep.write_models(rows, target, Path(docs),
                                                                  report_name))))
        return
    if suite == "sign":
        rows = rep.run_sign(Path(models_dir), target, limit, data_dir, timeout)
        click.echo(rep.markdown_sign(rows, target))
        click.echo(f"wrote {rep.write_sign(rows, target, Path(docs))}")
        return
    rows = rep.run(Path(models_dir), target, limit, data_dir, timeout)
    click.echo(rep.markdown(rows, target))
    md, png = rep.write(rows, target, Path(docs))
    click.echo(f"wrote {md} and {png}")


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--address", help="An existing Ray cluster (e.g. ray://head:10001 or auto); "
                                "default: a local Ray started inside this process.")
@click.option("--workers", type=COUNT, default=2, show_default=True,
              help="Trials at a time. Each asks Ray for one CPU and trains with one "
                   "TensorFlow thread, so a trial's result does not depend on N; locally, "
                   "use up to the number of cores.")
@click.option("-o", "--output", type=click.Path(file_okay=False),
              help="Where the records go (default: build/sweeps/NAME, NAME from the spec).")
@data_dir_option
def sweep(spec, address, workers, output, data_dir):
    """Train, convert and measure every point of a design-space sweep on Ray.

    SPEC (YAML) lists groups of trials, each a grid over parameters: arch,
    binary_widths (a LeNet's binary dense widths), thresholds (input
    binarization), recipe, epochs, batch_size, seed, train_limit; and
    optionally a threshold_search (quantile-placed input thresholds refined by
    the sweep). Each trial trains on the dataset, converts with LCE, runs the
    generated C on the host over the test set (accuracy, agreement with LCE)
    and on the spec's emulated target (flash, RAM, instructions per inference).

    \b
    Each trial's record is written to OUTPUT/trials/ID.json when it finishes
    (its model to OUTPUT/models/, its log to OUTPUT/logs/). A rerun skips the
    trials already done; a worker killed mid-trial is retried by Ray and costs
    only that trial. Draw the figures with 'bnnkit sweep-report OUTPUT'.

    \b
    Examples:
      bnnkit sweep sweeps/paper000-figs5-8.yaml --workers 2 -o docs/sweeps/paper000-figs5-8
      bnnkit sweep sweeps/paper001-thresholds.yaml --address auto --workers 16
    """
    from .. import sweep as sw
    from ..errors import BnnkitError
    from ..outdir import check_folder

    loaded = sw.load_spec(spec)
    out = Path(output) if output else Path("build/sweeps") / loaded.name
    check_folder(out, "-o")
    summary = sw.run_sweep(loaded, out, address=address, workers=workers, data_dir=data_dir,
                           echo=lambda line: click.echo(line, err=True))
    click.echo(f"{loaded.name}: {len(summary['ran'])} trials run, {len(summary['skipped'])} "
               f"already done, {len(summary['failed'])} failed, {summary['wall_s']:.0f} s "
               f"with {workers} worker(s); records in {out / 'trials'}")
    if summary["failed"]:
        raise BnnkitError(f"{spec}: {len(summary['failed'])} trial(s) failed (see "
                          f"{out / 'trials'}; a rerun retries them)", exit_code=1)


@main.command("sweep-report")
@click.argument("folder", type=click.Path())
def sweep_report(folder):
    """Draw a sweep's figures: FOLDER is what 'bnnkit sweep -o FOLDER' wrote.

    \b
    For each group of the spec: accuracy against the swept parameter, beside
    the paper's values where the spec gives them. For the whole sweep: the
    Pareto fronts of accuracy against flash and against instructions per
    inference, every point labelled. With a threshold search: its best list
    against the paper's best hand-picked list with as many channels, and
    whether it is at least as good. Writes FOLDER/report.md, report.html and
    the PNGs; works on a sweep still running (the trials finished so far).

    \b
    Example:
      bnnkit sweep-report docs/sweeps/paper000-figs5-8
    """
    from ..sweep_report import write_report

    for path in write_report(folder):
        click.echo(f"wrote {path}")
