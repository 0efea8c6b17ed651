"""Real image data that need no download: scikit-learn's 8x8 digits, and IDX files (MNIST, Fashion-MNIST).

* :func:`digits`: the 1,797 8x8 digits shipped inside scikit-learn's wheel, scaled to [0, 1] (the
  pixels are counts 0..16), split once into a training set and a held-out test set by a fixed
  permutation (seed 0; stratified by class), so every experiment holds out the same real images.
* :func:`read_idx`: one IDX file (the format of MNIST and Fashion-MNIST), gzipped or raw, streamed and
  checked: its magic number, element type and dimensions first, then its size against a stated limit
  (:data:`IDX_MAX_BYTES`) before any data are read or inflated, then its length.
* :func:`fashion_mnist`: the 60,000 + 10,000 28x28 Fashion-MNIST images of the Debian package
  ``dataset-fashion-mnist`` (``apt-get install dataset-fashion-mnist``; the IDX files land in
  /usr/share/datasets/fashion-mnist/), or of any folder holding the four standard IDX files (MNIST
  too). Absent files are one :class:`DataError` line that says how to get them.

Every loader returns an :class:`ImageData`: float32 tensors (N, H, W) in [0, 1] and int64 labels, for
the training and the test split. Held-out test images are never trained on (the families take the
training split as batch 0 of the pool and only measure on the test split).
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from theory.errors import UserError

#: Where Debian's dataset-fashion-mnist package puts its IDX files.
FASHION_MNIST = "/usr/share/datasets/fashion-mnist"
#: Test images held out of the digits (about a sixth, stratified by class).
DIGITS_TEST = 297
#: IDX element types: code -> (numpy dtype, big-endian).
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
              0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
#: The most data bytes :func:`read_idx` accepts from one file unless told otherwise: 128 MiB, about three
#: times Fashion-MNIST's training images (47 MB), whose float32 copy then stays under 1 GB.
IDX_MAX_BYTES = 1 << 27
#: The most classes :func:`read_idx_folder` accepts where it is not told how many there are.
MAX_CLASSES = 1000
#: Bytes :func:`read_idx` inflates or reads at a time.
_CHUNK = 1 << 20
#: The four standard file stems of MNIST-like data, (images, labels) per split.
_STEMS = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
          "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


class DataError(UserError, ValueError):
    """Data that cannot be read or are absent; the message says which file and what to do."""


@dataclass(frozen=True)
class ImageData:
    """Images (N, H, W) float32 in [0, 1] and labels (N,) int64, a training and a held-out test split."""

    name: str
    train: torch.Tensor
    train_labels: torch.Tensor
    test: torch.Tensor
    test_labels: torch.Tensor
    classes: int

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.train.shape[1:])


def check_images(images: torch.Tensor, name: str = "images") -> torch.Tensor:
    """Images (N, H, W): non-empty, finite, float; returned as float32."""
    if not isinstance(images, torch.Tensor) or images.dim() != 3:
        raise DataError(f"{name} must be a tensor (N, H, W), got {getattr(images, 'shape', type(images).__name__)}")
    if images.shape[0] < 1 or images.numel() == 0:
        raise DataError(f"{name} is empty: shape {tuple(images.shape)}")
    images = images.float()
    if not torch.isfinite(images).all():
        raise DataError(f"{name} holds NaN or infinite pixels")
    return images


def _stratified_split(labels: np.ndarray, test: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test): ``test`` images held out, about the same share of every class."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(labels))
    share = test / len(labels)
    held = []
    for c in np.unique(labels):
        of_c = order[labels[order] == c]
        held.extend(of_c[: int(round(share * len(of_c)))])
    held = np.array(sorted(held[:test] if len(held) >= test else held))
    mask = np.ones(len(labels), bool)
    mask[held] = False
    return np.flatnonzero(mask), held


@lru_cache(maxsize=1)
def digits() -> ImageData:
    """scikit-learn's 8x8 digits, pixels / 16, with a fixed stratified held-out split (1,500 + 297)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise DataError("the digits ship with scikit-learn: pip install scikit-learn "
                        "(or pip install -e '.[deep]')") from None
    bunch = load_digits()
    images = np.asarray(bunch.images, dtype=np.float32) / 16.0
    labels = np.asarray(bunch.target, dtype=np.int64)
    tr, te = _stratified_split(labels, DIGITS_TEST)
    t = torch.from_numpy
    return ImageData("digits", t(images[tr]), t(labels[tr]), t(images[te]), t(labels[te]), 10)


def read_idx(path: str | os.PathLike, max_bytes: int | None = None) -> np.ndarray:
    """The array in one IDX file (gzipped or raw), checked; DataError names the file and the fault.

    The file is streamed: its header (magic number, element type, dimensions) is read and checked first,
    and the data it declares are sized against ``max_bytes`` (default :data:`IDX_MAX_BYTES`) and, for a
    raw file, against the file's size, before anything is allocated. A gzipped file is inflated only as
    far as the header allows (the declared bytes, then one more to detect trailing data), in chunks of
    :data:`_CHUNK`: a small .gz that would inflate to gigabytes costs a few kilobytes to refuse.
    """
    path = os.fspath(path)
    limit = IDX_MAX_BYTES if max_bytes is None else max_bytes
    try:
        with open(path, "rb") as raw:
            gzipped = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            size = os.fstat(raw.fileno()).st_size
            f = gzip.GzipFile(fileobj=raw, mode="rb") if gzipped else raw
            try:
                return _read_idx(f, path, limit, None if gzipped else size)
            except (OSError, EOFError, zlib.error) as e:
                if not gzipped:
                    raise
                raise DataError(f"{path} is a damaged gzip file ({str(e) or type(e).__name__})") from None
    except FileNotFoundError:
        raise DataError(f"no IDX file at {path}") from None
    except IsADirectoryError:
        raise DataError(f"{path} is a folder, not an IDX file") from None
    except OSError as e:
        raise DataError(f"cannot read {path}: {e.strerror or e}") from None


def _read_idx(f, path: str, limit: int, size: int | None) -> np.ndarray:
    """The array of the IDX stream ``f`` (:func:`read_idx`); ``size``: the raw file's bytes, None if gzipped."""
    head = f.read(4)
    if len(head) < 4 or head[0] != 0 or head[1] != 0:
        raise DataError(f"{path} is not an IDX file: wrong magic number {head.hex() or '(empty file)'} "
                        "(IDX files start with two zero bytes, a type code and the number of dimensions)")
    code, ndim = head[2], head[3]
    if code not in _IDX_TYPES:
        raise DataError(f"{path}: unknown IDX element type 0x{code:02x}")
    if ndim < 1:
        raise DataError(f"{path}: the IDX header declares no dimensions")
    header = f.read(4 * ndim)
    if len(header) < 4 * ndim:
        raise DataError(f"{path}: IDX header is truncated ({ndim} dimensions declared)")
    dims = tuple(int.from_bytes(header[4 * i: 4 * i + 4], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_TYPES[code])
    need = math.prod(dims) * dtype.itemsize  # Python integers: no overflow, however large the dimensions
    if need > limit:
        raise DataError(f"{path}: the header declares shape {dims} ({need:,} bytes of data), more than the "
                        f"reader's limit of {limit:,} bytes (deep.data.read_idx's max_bytes)")
    if size is not None and size != 4 + 4 * ndim + need:
        raise DataError(f"{path}: the header declares shape {dims} ({need} bytes of data) but the file holds "
                        f"{size - 4 - 4 * ndim}; the file is truncated or damaged")
    data = np.empty(need // dtype.itemsize, dtype=dtype)
    view, got = memoryview(data).cast("B"), 0
    while got < need:
        chunk = f.read(min(_CHUNK, need - got))
        if not chunk:
            break
        view[got: got + len(chunk)] = chunk
        got += len(chunk)
    if got < need:
        raise DataError(f"{path}: the header declares shape {dims} ({need} bytes of data) but the file holds "
                        f"{got}; the file is truncated or damaged")
    if f.read(1):
        raise DataError(f"{path}: the header declares shape {dims} ({need} bytes of data) but the file holds "
                        "more; the file is damaged or its header wrong")
    if not dtype.isnative:
        data = data.byteswap(inplace=True).view(dtype.newbyteorder("="))
    return data.reshape(dims)


def _find(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (folder / name).exists():
            return folder / name
    return None


def _check_labels(labels: np.ndarray, path: Path, classes: int | None) -> None:
    """Labels of one split: integers in 0..classes-1 (0..MAX_CLASSES-1 where ``classes`` is not known)."""
    if labels.dtype.kind not in "iu":
        raise DataError(f"{path}: labels must be integers, not {labels.dtype.name} (IDX type 0x08 to 0x0C)")
    if len(labels) == 0:
        return
    bound = MAX_CLASSES if classes is None else classes
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high >= bound:
        bad = low if low < 0 else high
        where = int(np.flatnonzero(labels == bad)[0])
        rule = "negative" if bad < 0 else (f"not below the class count {classes}" if classes is not None else
                                           f"not below {MAX_CLASSES} (the most classes deep.data reads)")
        raise DataError(f"{path}: label {bad} (at index {where}) is {rule}")


def _scaled(images: np.ndarray, path: Path) -> np.ndarray:
    """Images as float32 in [0, 1]: uint8 pixels / 255, others / their maximum (if above 1)."""
    if images.dtype.kind == "f" and not np.isfinite(images).all():
        raise DataError(f"{path} holds NaN or infinite pixels")
    if images.dtype.kind != "u" and images.size and float(images.min()) < 0:
        raise DataError(f"{path} holds negative pixels (minimum {float(images.min()):g}); pixels are 0 or more")
    scale = 255.0 if images.dtype == np.uint8 else max(float(images.max()) if images.size else 1.0, 1.0)
    out = images.astype(np.float32)
    out /= np.float32(scale)  # in place: one float32 copy of the images, not two
    return out


def read_idx_folder(folder: str | os.PathLike, name: str = "idx", classes: int | None = None) -> ImageData:
    """Training and test images and labels from the four standard IDX files in ``folder``
    (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte;
    each raw or .gz). Pixels are scaled from 0..255 to [0, 1]. Labels must be integers in
    0..``classes``-1; without ``classes`` the class count is the largest label + 1 (at most
    :data:`MAX_CLASSES`)."""
    folder = Path(folder)
    out = {}
    for split, (im, lb) in _STEMS.items():
        paths = [_find(folder, s) for s in (im, lb)]
        missing = [s for s, p in zip((im, lb), paths) if p is None]
        if missing:
            raise DataError(f"{folder} has no {missing[0]}[.gz]: need the four IDX files of an MNIST-like data set")
        labels = read_idx(paths[1])  # first: the small file, checked before the images are read
        if labels.ndim != 1:
            raise DataError(f"{paths[1]} must hold labels (N,); got shape {labels.shape}")
        _check_labels(labels, paths[1], classes)
        images = read_idx(paths[0])
        if images.ndim != 3:
            raise DataError(f"{paths[0]} must hold images (N, H, W); got shape {images.shape}")
        if len(images) != len(labels):
            raise DataError(f"{paths[0]} holds {len(images)} images but {paths[1]} {len(labels)} labels")
        if len(images) == 0:
            raise DataError(f"{paths[0]} holds no images")
        out[split] = (torch.from_numpy(_scaled(images, paths[0])), torch.from_numpy(labels.astype(np.int64)))
    if classes is None:
        classes = int(max(out["train"][1].max(), out["test"][1].max())) + 1
    return ImageData(name, out["train"][0], out["train"][1], out["test"][0], out["test"][1], classes)


@lru_cache(maxsize=2)
def fashion_mnist(folder: str = FASHION_MNIST) -> ImageData:
    """Fashion-MNIST from Debian's dataset-fashion-mnist package (or another folder of its IDX files)."""
    if not Path(folder).is_dir():
        raise DataError(f"Fashion-MNIST is not installed ({folder} does not exist): "
                        "apt-get install dataset-fashion-mnist, or use data = 'digits'")
    return read_idx_folder(folder, "fashion-mnist", classes=10)


#: The data sets by name (the ``data`` setting of the image simulators; 'teacher' is deep.teacher's).
DATASETS = {"digits": digits, "fashion-mnist": fashion_mnist}


def load(name: str) -> ImageData:
    if name not in DATASETS:
        raise DataError(f"data must be one of {', '.join(DATASETS)}, got {name!r}")
    return DATASETS[name]()


def write_idx(path: str | os.PathLike, array: np.ndarray, compress: bool | None = None) -> None:
    """Write ``array`` (uint8, int8, int16, int32, float32 or float64) as an IDX file (gzipped if the path
    ends in .gz, or if ``compress``): for tests, and for users converting their own images."""
    array = np.asarray(array)
    codes = {np.dtype(v).newbyteorder("=").str: k for k, v in _IDX_TYPES.items()}
    key = array.dtype.newbyteorder("=").str
    if key not in codes:
        raise ValueError(f"cannot write dtype {array.dtype} as IDX")
    code = codes[key]
    body = np.ascontiguousarray(array.astype(np.dtype(_IDX_TYPES[code]))).tobytes()
    raw = bytes([0, 0, code, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape) + body
    path = os.fspath(path)
    if compress or (compress is None and path.endswith(".gz")):
        raw = gzip.compress(raw, mtime=0)
    with open(path, "wb") as f:
        f.write(raw)
