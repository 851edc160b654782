"""Training: the paper's recipe and a better one, same architectures.

Recipes:
  ``paper``  Adam (lr 1e-3), batch 64, 10 epochs: exactly what paper 000 did.
  ``plus``   Adam with a 1-epoch warm-up then cosine decay from 2e-3 to 0 over
             the run (30 epochs by default), batch 64. Same model, same size;
             only the schedule differs. The binary LeNets underfit (train and test
             accuracy are close), so a decaying rate helps and augmentation does not.
  ``plus-shift`` the same, 40 epochs, with random +-2 px shifts of the training
             images (for data that overfits, e.g. Sign Language MNIST).

Example:
    >>> from bnnkit.train import train
    >>> result = train("lenet_bin3", "models/lenet_bin3.h5", epochs=1, limit=2000)  # doctest: +SKIP
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from . import data as datamod
from . import metadata, preprocess
from .errors import BnnkitError

RECIPES = {
    "paper": {"epochs": 10, "batch_size": 64, "learning_rate": 1e-3, "schedule": "constant",
              "augment_shift": 0,
              "description": "Adam lr 1e-3 constant, batch 64, 10 epochs (paper 000)"},
    "plus": {"epochs": 30, "batch_size": 64, "learning_rate": 2e-3, "schedule": "cosine",
             "augment_shift": 0,
             "description": "Adam, 1-epoch warm-up then cosine decay 2e-3 -> 0 over the run "
                            "(30 epochs unless --epochs), batch 64"},
    "plus-shift": {"epochs": 40, "batch_size": 64, "learning_rate": 2e-3, "schedule": "cosine",
                   "augment_shift": 2,
                   "description": "as 'plus' (40 epochs unless --epochs) with random +-2 px "
                                  "shifts of the training images"},
}


def _schedule(keras, recipe: dict, steps_per_epoch: int, epochs: int):
    lr = recipe["learning_rate"]
    if recipe["schedule"] == "constant":
        return lr
    total = max(1, steps_per_epoch * epochs)
    warmup = min(steps_per_epoch, total // 2)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=lr / 10, decay_steps=total - warmup, alpha=0.0,
        warmup_target=lr, warmup_steps=warmup)


def _shift_batches(x, y, batch_size, shift, rng):
    """Yield shuffled batches with each image shifted by up to ``shift`` px."""
    n = len(x)
    while True:
        order = rng.permutation(n)
        for start in range(0, n - batch_size + 1, batch_size):
            idx = order[start:start + batch_size]
            xb = x[idx]
            if shift:
                padded = np.pad(xb, ((0, 0), (shift, shift), (shift, shift), (0, 0)))
                dy, dx = rng.integers(0, 2 * shift + 1, size=2)
                xb = padded[:, dy:dy + 28, dx:dx + 28, :]
            yield xb, y[idx]


def train(arch: str, out: str | Path, *, epochs: int | None = None, batch_size: int | None = None,
          seed: int = 0, limit: int | None = None, data_dir=None, recipe: str = "paper",
          dataset: str = "fashion-mnist", thresholds=None, encoding: str = "interval",
          verbose: int | None = None, int8: bool = False, calibration_images: int = 500,
          max_int8_drop: float = 0.005, qat_epochs: int = 2, binary_widths=None,
          evaluate_train: bool = True, always_fine_tune: bool = False,
          calibration_path=None) -> dict:
    """Train ``arch``, save ``out`` (.h5) and its sidecar; return the sidecar dict.

    ``int8``: also write ``OUT_int8.tflite`` and its sidecar, as
    ``bnnkit convert OUT --int8`` would; if that int8 model loses more than
    ``max_int8_drop`` of the test accuracy, the model is fine-tuned with fake
    quantization for ``qat_epochs`` epochs (Adam, a tenth of the recipe's
    learning rate, same batches) and converted from there. ``OUT.h5`` keeps
    the float-trained weights; the int8 sidecar records both accuracies.
    ``always_fine_tune``: fine-tune whatever the int8 model loses.
    ``calibration_path``: calibrate the int8 model on these inputs (.npz or an
    image folder) instead of the first training images.
    ``binary_widths``: a LeNet's binary layer widths, as
    :func:`bnnkit.zoo.build_lenet` takes them (recorded in the sidecar).
    ``evaluate_train``: False skips the accuracy on the training images (sweeps).
    """
    from .tfenv import keras, tf
    from . import zoo

    if recipe not in RECIPES:
        raise BnnkitError(f"unknown recipe {recipe!r} (choose from {', '.join(RECIPES)})")
    out = Path(out)
    if out.suffix != ".h5":
        raise BnnkitError(f"{out}: output must be an .h5 file")
    rec = dict(RECIPES[recipe])
    epochs = epochs if epochs is not None else rec["epochs"]
    batch_size = batch_size if batch_size is not None else rec["batch_size"]
    if epochs < 1 or batch_size < 1:
        raise BnnkitError("--epochs and --batch-size must be at least 1")

    if thresholds is not None:
        from .layers import validate_thresholds
        thresholds = validate_thresholds(thresholds)
    train_ds = datamod.load(dataset, "train", data_dir).limit(limit)
    test_ds = datamod.load(dataset, "test", data_dir)
    _stage(f"loaded {dataset}: {len(train_ds.images):,} training and {len(test_ds.images):,} "
           "test images; training")  # after the input checks: a bad input is one line
    n_classes = len(train_ds.class_names)

    options = {}
    if thresholds is not None:
        from .layers import ThresholdEncoding
        options["input_layers"] = [ThresholdEncoding(thresholds, encoding, name="threshold_encoding")]
        prep = preprocess.RAW_PIXELS
    else:
        prep = preprocess.UNIT_SCALE
    options["n_classes"] = n_classes
    if binary_widths is not None:
        options["binary_widths"] = tuple(int(w) for w in binary_widths)

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    model = zoo.build(arch, **options)

    x_train = preprocess.apply(prep, train_ds.images)
    x_test = preprocess.apply(prep, test_ds.images)
    y_train = train_ds.labels.astype(np.int32)
    y_test = test_ds.labels.astype(np.int32)

    steps = max(1, len(x_train) // batch_size)
    lr = _schedule(keras, rec, steps, epochs)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    if rec["augment_shift"]:
        rng = np.random.default_rng(seed)
        gen = _shift_batches(x_train, y_train, batch_size, rec["augment_shift"], rng)
        history = model.fit(gen, steps_per_epoch=steps, epochs=epochs, verbose=verbose)
    else:
        history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs,
                            shuffle=True, verbose=verbose)

    shown = 1 if verbose == 1 else 0  # Keras's bar on a terminal, else one line a stage
    _stage(f"evaluating on the {len(x_test):,} test images")
    _, test_acc = model.evaluate(x_test, y_test, batch_size=512, verbose=shown)
    train_acc = None
    if evaluate_train:
        _stage(f"evaluating on the {len(x_train):,} training images")
        _, train_acc = model.evaluate(x_train, y_train, batch_size=512, verbose=shown)
    # The tests check LCE's interpreter on this slice against Keras on the same images.
    _, first_acc = model.evaluate(x_test[:1000], y_test[:1000], batch_size=500, verbose=0)

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.stem + ".tmp.h5")
    try:
        model.save(tmp, save_format="h5")
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)

    meta = {
        "architecture": arch,
        "dataset": dataset,
        "class_names": list(train_ds.class_names),
        "preprocessing": prep,
        "recipe": recipe,
        "recipe_description": rec["description"],
        "epochs": epochs,
        "batch_size": batch_size,
        "seed": seed,
        "train_images": int(len(x_train)),
        "keras_test_accuracy": round(float(test_acc), 6),
        "keras_test_accuracy_first_1000": round(float(first_acc), 6),
        "final_epoch_train_accuracy": round(float(history.history["accuracy"][-1]), 6),
        "larq_summary": zoo.profile(model),
        "versions": metadata.package_versions(),
    }
    if train_acc is not None:
        meta["keras_train_accuracy"] = round(float(train_acc), 6)
    if binary_widths is not None:
        meta["binary_widths"] = list(options["binary_widths"])
    if train_ds.label_table is not None:
        meta["label_table"] = {str(k): v for k, v in train_ds.label_table.items()}
    if thresholds is not None:
        meta["thresholds"] = thresholds
        meta["encoding"] = encoding
    metadata.write(metadata.sidecar_path(out), meta)
    if int8:
        from .convert import int8_path, load_keras, write_int8

        def fine_tune(qat_model):
            lr = rec["learning_rate"] / 10
            qat_model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr),
                              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
            keras.utils.set_random_seed(seed)
            qat_model.fit(x_train, y_train, batch_size=batch_size, epochs=qat_epochs,
                          shuffle=True, verbose=verbose)
            return {"epochs": qat_epochs, "learning_rate": lr, "batch_size": batch_size,
                    "optimizer": "Adam, constant rate", "train_images": int(len(x_train))}

        # the saved model, as `convert --int8` reads it: a fresh graph, each layer called once
        meta["int8"] = write_int8(load_keras(out), meta, str(out), int8_path(out), calibration_images,
                                  data_dir, fine_tune=fine_tune if qat_epochs else None,
                                  max_drop=None if always_fine_tune else max_int8_drop,
                                  calibration_path=calibration_path)
    return meta


def _stage(message: str) -> None:
    """One progress line on stderr (stdout keeps the results)."""
    print(f"[train] {message}", file=sys.stderr, flush=True)
