"""Real data without a download: the digits split, IDX files (raw, gzipped, damaged), Fashion-MNIST's absence."""

import gzip

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from deep import data as D  # noqa: E402


def test_digits_split_is_fixed_stratified_and_disjoint():
    d = D.digits()
    assert d.train.shape == (1500, 8, 8) and d.test.shape == (297, 8, 8)
    assert d.train.dtype == torch.float32 and 0 <= float(d.train.min()) and float(d.train.max()) <= 1
    counts = torch.bincount(d.test_labels, minlength=10)
    assert int(counts.min()) >= 25  # about 30 of each class held out
    # no held-out image is a training image (the digits have no exact duplicates across the split)
    train = {bytes(x.numpy().tobytes()) for x in d.train}
    assert not any(bytes(x.numpy().tobytes()) in train for x in d.test)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path, suffix):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(7, 4, 5), dtype=np.uint8)
    D.write_idx(tmp_path / f"a{suffix}", images)
    np.testing.assert_array_equal(D.read_idx(tmp_path / f"a{suffix}"), images)
    floats = rng.normal(size=(3, 2)).astype(np.float32)
    D.write_idx(tmp_path / f"f{suffix}", floats)
    np.testing.assert_array_equal(D.read_idx(tmp_path / f"f{suffix}"), floats)


def _write_mnist_like(folder, n_train=12, n_test=5, gz=True):
    rng = np.random.default_rng(1)
    sfx = ".gz" if gz else ""
    for stem, n in (("train", n_train), ("t10k", n_test)):
        D.write_idx(folder / f"{stem}-images-idx3-ubyte{sfx}", rng.integers(0, 256, (n, 6, 6), dtype=np.uint8))
        D.write_idx(folder / f"{stem}-labels-idx1-ubyte{sfx}", rng.integers(0, 3, n).astype(np.uint8))


def test_idx_folder_reads_four_files(tmp_path):
    _write_mnist_like(tmp_path)
    d = D.read_idx_folder(tmp_path, "toy")
    assert d.train.shape == (12, 6, 6) and d.test.shape == (5, 6, 6) and d.classes <= 3
    assert float(d.train.max()) <= 1.0


@pytest.mark.parametrize("damage,message", [
    (lambda p: p.write_bytes(b""), "wrong magic number"),
    (lambda p: p.write_bytes(b"\x01\x02\x08\x01" + bytes(8)), "wrong magic number"),
    (lambda p: p.write_bytes(b"\x00\x00\x07\x01" + bytes(8)), "unknown IDX element type"),
    (lambda p: p.write_bytes(gzip.decompress(p.read_bytes())[:-3]), "truncated"),
    (lambda p: p.write_bytes(p.read_bytes()[:20]), "damaged gzip"),
])
def test_damaged_idx_is_one_clear_error(tmp_path, damage, message):
    path = tmp_path / "x.gz"
    D.write_idx(path, np.zeros((4, 3, 3), np.uint8))
    damage(path)
    with pytest.raises(D.DataError, match=message):
        D.read_idx(path)


def test_missing_files_and_mismatches(tmp_path):
    with pytest.raises(D.DataError, match="no IDX file"):
        D.read_idx(tmp_path / "none")
    with pytest.raises(D.DataError, match="has no train-images-idx3-ubyte"):
        D.read_idx_folder(tmp_path)
    _write_mnist_like(tmp_path, gz=False)
    D.write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(4, np.uint8))
    with pytest.raises(D.DataError, match="5 images but .* 4 labels"):
        D.read_idx_folder(tmp_path)
    with pytest.raises(D.DataError, match="apt-get install dataset-fashion-mnist"):
        D.fashion_mnist(str(tmp_path / "absent"))
    with pytest.raises(D.DataError, match="data must be one of"):
        D.load("mnist-typo")


def test_empty_and_nan_images_are_refused():
    with pytest.raises(D.DataError, match="empty"):
        D.check_images(torch.zeros(0, 8, 8))
    with pytest.raises(D.DataError, match="NaN"):
        D.check_images(torch.full((2, 8, 8), float("nan")))
