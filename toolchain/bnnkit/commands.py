"""Sub-commands of ``bnnkit`` (see :mod:`bnnkit.cli`)."""

from __future__ import annotations

from pathlib import Path

import click

from .cli import friendly_errors, main

DATASET_CHOICE = click.Choice(["fashion-mnist", "sign-mnist"])


@main.command()
@click.argument("arch", type=click.Choice(["lenet_float", "lenet_bin1", "lenet_bin2",
                                           "lenet_bin3", "signnet"]))
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Where to write the .h5 (default: models/ARCH.h5); the sidecar goes beside it.")
@click.option("--recipe", type=click.Choice(["paper", "plus"]), default="paper", show_default=True,
              help="'paper': Adam 1e-3, batch 64, 10 epochs. 'plus': 40 epochs, warm-up + cosine "
                   "decay, +-2 px shifts.")
@click.option("--epochs", type=int, help="Override the recipe's epochs (paper: 10).")
@click.option("--batch-size", type=int, help="Override the recipe's batch size (64).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--limit", type=int, help="Train on the first N training images only.")
@click.option("--dataset", type=DATASET_CHOICE, default=None,
              help="Default: fashion-mnist (sign-mnist for signnet).")
@click.option("--thresholds", help="Binarize the input: cut pixels at e.g. 0,90,150,170,210,255.")
@click.option("--encoding", type=click.Choice(["interval", "thermometer"]), default="interval",
              show_default=True, help="How --thresholds become channels.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Where the dataset files are.")
@friendly_errors
def train(arch, output, recipe, epochs, batch_size, seed, limit, dataset, thresholds, encoding,
          data_dir):
    """Train ARCH with Adam and save MODEL.h5 plus its MODEL.json sidecar.

    The sidecar records the architecture, dataset, input preprocessing, recipe,
    seed, Keras train and test accuracy, larq's size summary and package versions.
    """
    from .layers import parse_thresholds
    from .train import train as run

    dataset = dataset or ("sign-mnist" if arch == "signnet" else "fashion-mnist")
    parsed = parse_thresholds(thresholds) if thresholds else None
    output = output or f"models/{arch}.h5"
    meta = run(arch, output, epochs=epochs, batch_size=batch_size, seed=seed, limit=limit,
               data_dir=data_dir, recipe=recipe, dataset=dataset, thresholds=parsed,
               encoding=encoding)
    s = meta["larq_summary"]
    click.echo(f"{output}: test accuracy {100 * meta['keras_test_accuracy']:.2f} %, train accuracy "
               f"{100 * meta['keras_train_accuracy']:.2f} %; {s['binary_params']:,} binary + "
               f"{s['float_params']:,} float parameters, {s['model_size_kib']} KiB (larq)")


@main.command()
@click.argument("model", type=click.Path())
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Where to write the flatbuffer (default: MODEL with .tflite).")
@friendly_errors
def convert(model, output):
    """Convert a Larq MODEL.h5 to a TFLite flatbuffer with LCE's converter.

    Prints what the flatbuffer holds: ops by type, tensors, bytes of constants.
    The sidecar MODEL.json is copied beside the output.
    """
    from . import convert as conv
    from .inspect import describe_tflite

    out = conv.convert(model, output)
    click.echo(f"wrote {out}")
    click.echo(describe_tflite(out))


@main.command()
@click.argument("file", type=click.Path())
@friendly_errors
def inspect(file):
    """Show what an existing .h5 or .tflite holds."""
    from .inspect import describe

    click.echo(describe(file))
