"""Datasets: Fashion-MNIST (IDX gz) and Sign Language MNIST (Kaggle CSV).

Both loaders return raw ``uint8`` images of shape ``(N, 28, 28)`` and integer
labels; how pixels become model input is the model's business (see
:mod:`bnnkit.preprocess`), so the device and the desktop see the same bytes.

Example:
    >>> from bnnkit import data
    >>> ds = data.load("fashion-mnist", "test")       # doctest: +SKIP
    >>> ds.images.shape, ds.labels[:3], ds.class_names[0]   # doctest: +SKIP
    ((10000, 28, 28), array([9, 2, 1], dtype=uint8), 'T-shirt/top')
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import os
import struct
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import BnnkitError

FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
FASHION_MIRROR = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
# sha256 of the *decompressed* IDX files: Debian recompresses the upstream
# archives, so hashing the content works for both sources.
FASHION_FILES = {
    "train": (
        ("train-images-idx3-ubyte.gz",
         "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
        ("train-labels-idx1-ubyte.gz",
         "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
    ),
    "test": (
        ("t10k-images-idx3-ubyte.gz",
         "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
        ("t10k-labels-idx1-ubyte.gz",
         "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
    ),
}

SIGN_FILES = {"train": "sign_mnist_train.csv", "test": "sign_mnist_test.csv"}
# Kaggle labels 0..24 are the letters A..Y; 9 (J) and 25 (Z) need motion and never occur.
SIGN_ORIGINAL_LABELS = tuple(i for i in range(25) if i != 9)
SIGN_CLASSES = tuple(chr(ord("A") + i) for i in SIGN_ORIGINAL_LABELS)

DATASETS = ("fashion-mnist", "sign-mnist")


@dataclass(frozen=True)
class Dataset:
    """Raw images, contiguous labels and the names of the classes."""

    name: str
    split: str
    images: np.ndarray  # uint8 (N, 28, 28)
    labels: np.ndarray  # uint8 (N,), 0..n_classes-1
    class_names: tuple
    source: str  # where the files were found
    label_table: dict | None = None  # contiguous label -> original label in the files

    def limit(self, n: int | None) -> "Dataset":
        if n is None or n >= len(self.labels):
            return self
        return Dataset(self.name, self.split, self.images[:n], self.labels[:n],
                       self.class_names, self.source, self.label_table)


def user_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bnnkit"


def _search_dirs(data_dir: str | os.PathLike | None, extra: list[Path]) -> list[Path]:
    dirs = []
    if data_dir:
        dirs.append(Path(data_dir))
    env = os.environ.get("BNNKIT_DATA_DIR")
    if env:
        dirs.append(Path(env))
    return dirs + extra


# ---------------------------------------------------------------- IDX format

def parse_idx(raw: bytes, path: Path) -> np.ndarray:
    """Parse an uncompressed IDX file (ubyte data only), checking its header."""
    if len(raw) < 4:
        raise BnnkitError(f"{path}: not an IDX file (only {len(raw)} bytes)")
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code != 0x08 or ndim not in (1, 3):
        raise BnnkitError(f"{path}: not an IDX ubyte file (bad magic {raw[:4].hex()})")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise BnnkitError(f"{path}: truncated IDX header")
    dims = struct.unpack(">" + "I" * ndim, raw[4:header])
    expected = int(np.prod(dims))
    if len(raw) - header != expected:
        raise BnnkitError(
            f"{path}: truncated or corrupt IDX data ({len(raw) - header} bytes, "
            f"header says {expected})")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _read_gz(path: Path) -> bytes:
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise BnnkitError(f"{path}: corrupt gzip file ({exc})") from None


def _download(url: str, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(dest.suffix + ".part")
    try:
        with urllib.request.urlopen(url, timeout=60) as resp, open(tmp, "wb") as out:
            out.write(resp.read())
        tmp.replace(dest)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise BnnkitError(f"could not download {url}: {exc}") from None


def _fashion_missing_message(dirs: list[Path]) -> str:
    where = ", ".join(str(d) for d in dirs)
    return (f"Fashion-MNIST not found (looked in {where}; download from {FASHION_MIRROR} "
            "failed or is disabled); install it with 'apt-get install dataset-fashion-mnist' "
            "or pass --data-dir")


def load_fashion_mnist(split: str, data_dir=None, download: bool | None = None) -> Dataset:
    """Load Fashion-MNIST ``split`` ('train' or 'test') as raw uint8 images.

    Looks in ``data_dir``, ``$BNNKIT_DATA_DIR``, /usr/share/datasets/fashion-mnist,
    ``~/.cache/bnnkit/fashion-mnist``, then downloads into that cache from the
    official mirror (unless ``BNNKIT_NO_DOWNLOAD=1``), checking sha256.
    """
    if split not in FASHION_FILES:
        raise BnnkitError(f"unknown split {split!r} (use 'train' or 'test')")
    cache = user_cache_dir() / "fashion-mnist"
    dirs = _search_dirs(data_dir, [FASHION_SYSTEM_DIR, cache])
    (img_name, img_sha), (lbl_name, lbl_sha) = FASHION_FILES[split]
    if download is None:
        download = os.environ.get("BNNKIT_NO_DOWNLOAD", "") not in ("1", "true", "yes")

    found = next((d for d in dirs if (d / img_name).is_file() and (d / lbl_name).is_file()), None)
    if found is None:
        if not download:
            raise BnnkitError(_fashion_missing_message(dirs))
        for name in (img_name, lbl_name):
            _download(FASHION_MIRROR + name, cache / name)
        found = cache

    arrays = []
    for name, sha in ((img_name, img_sha), (lbl_name, lbl_sha)):
        path = found / name
        raw = _read_gz(path)
        if hashlib.sha256(raw).hexdigest() != sha:
            # Only the canonical files carry known hashes; files a user made
            # (tests, subsets) are checked structurally instead.
            if found in (FASHION_SYSTEM_DIR, cache):
                raise BnnkitError(f"{path}: sha256 mismatch, the file is corrupt; "
                                  "reinstall it (apt-get install --reinstall dataset-fashion-mnist)")
        arrays.append(parse_idx(raw, path))
    images, labels = arrays
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise BnnkitError(f"{found / img_name}: expected 28x28 images, got {images.shape[1:]}")
    if labels.ndim != 1 or len(labels) != len(images):
        raise BnnkitError(f"{found / lbl_name}: {len(labels)} labels for {len(images)} images")
    if labels.size and labels.max() >= len(FASHION_CLASSES):
        raise BnnkitError(f"{found / lbl_name}: label {int(labels.max())} out of range 0..9")
    return Dataset("fashion-mnist", split, images, labels, FASHION_CLASSES, str(found))


# ---------------------------------------------------------- Sign Language MNIST

def _open_text(path: Path):
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="ascii")
    return open(path, encoding="ascii")


def load_sign_mnist(split: str, data_dir=None) -> Dataset:
    """Load Sign Language MNIST from its Kaggle CSV (optionally gzipped).

    Original labels 0..24 (9 absent) are mapped to 24 contiguous classes;
    ``label_table`` records contiguous -> original.
    """
    if split not in SIGN_FILES:
        raise BnnkitError(f"unknown split {split!r} (use 'train' or 'test')")
    dirs = _search_dirs(data_dir, [])
    name = SIGN_FILES[split]
    path = None
    for d in dirs:
        for candidate in (d / name, d / (name + ".gz")):
            if candidate.is_file():
                path = candidate
                break
        if path:
            break
    if path is None:
        where = ", ".join(str(d) for d in dirs) or "nowhere: no --data-dir or $BNNKIT_DATA_DIR given"
        raise BnnkitError(
            f"Sign Language MNIST {name}[.gz] not found (looked in {where}); download it from "
            "Kaggle (datamunge/sign-language-mnist) and pass --data-dir or set BNNKIT_DATA_DIR")
    to_contiguous = {orig: i for i, orig in enumerate(SIGN_ORIGINAL_LABELS)}
    try:
        with _open_text(path) as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if not header or header[0] != "label" or len(header) != 785:
                raise BnnkitError(f"{path}: not a Sign Language MNIST CSV (bad header)")
            rows = [r for r in reader if r]
    except (OSError, EOFError, UnicodeDecodeError, gzip.BadGzipFile, csv.Error) as exc:
        raise BnnkitError(f"{path}: corrupt file ({exc})") from None
    try:
        table = np.array(rows, dtype=np.int64)
    except ValueError:
        raise BnnkitError(f"{path}: corrupt CSV (ragged or non-numeric rows)") from None
    if table.ndim != 2 or table.shape[1] != 785:
        raise BnnkitError(f"{path}: corrupt CSV (rows must have 785 values)")
    if table.size and (table[:, 1:].min() < 0 or table[:, 1:].max() > 255):
        raise BnnkitError(f"{path}: pixel values outside 0..255")
    bad = sorted(set(np.unique(table[:, 0]).tolist()) - set(to_contiguous))
    if bad:
        raise BnnkitError(f"{path}: unknown labels {bad} (expected 0..24 without 9)")
    labels = np.array([to_contiguous[v] for v in table[:, 0]], dtype=np.uint8)
    images = table[:, 1:].astype(np.uint8).reshape(-1, 28, 28)
    return Dataset("sign-mnist", split, images, labels, SIGN_CLASSES, str(path.parent),
                   label_table={i: orig for i, orig in enumerate(SIGN_ORIGINAL_LABELS)})


def load(name: str, split: str, data_dir=None) -> Dataset:
    """Load dataset ``name`` ('fashion-mnist' or 'sign-mnist')."""
    if name == "fashion-mnist":
        return load_fashion_mnist(split, data_dir)
    if name == "sign-mnist":
        return load_sign_mnist(split, data_dir)
    raise BnnkitError(f"unknown dataset {name!r} (choose from {', '.join(DATASETS)})")


# ------------------------------------------------------------- writers (tests, tools)

def write_idx_gz(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as a gzipped IDX file (used to build small test sets)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(">" + "I" * array.ndim, *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.tobytes())
