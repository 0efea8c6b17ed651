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


# -- hostile IDX files (issue #18 item 9) --------------------------------------------------------------


def _header(code: int, dims) -> bytes:
    return bytes([0, 0, code, len(dims)]) + b"".join(int(d).to_bytes(4, "big") for d in dims)


def _gzip_stream(path, parts, total: int):
    """Write a gzip file of ``parts`` (bytes) followed by zeros up to ``total`` bytes, compressed as it goes
    (never ``total`` bytes in memory)."""
    with gzip.open(path, "wb", compresslevel=1) as f:
        written = 0
        for part in parts:
            f.write(part)
            written += len(part)
        zeros = bytes(1 << 20)
        while written < total:
            f.write(zeros[: total - written])
            written += min(len(zeros), total - written)


def _peak(fn) -> tuple[object, int]:
    """(what ``fn`` returned or raised, the peak bytes traced by tracemalloc while it ran)."""
    import tracemalloc

    tracemalloc.start()
    try:
        try:
            out = fn()
        except D.DataError as e:
            out = e
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_zip_bomb_is_refused_from_its_header_before_anything_is_inflated(tmp_path):
    """The issue's case, scaled down: a small .gz whose header declares more data than the stated bound
    is refused after reading the header alone (the old reader inflated it all first: 2.4 GB resident
    for 1 GiB). 16 MiB of zeros, a bound of 1 MiB: the peak is kilobytes."""
    path = tmp_path / "bomb.gz"
    _gzip_stream(path, [_header(0x08, (16 << 20 >> 10, 32, 32))], 4 + 12 + (16 << 20))
    assert path.stat().st_size < 100_000
    err, peak = _peak(lambda: D.read_idx(path, max_bytes=1 << 20))
    assert isinstance(err, D.DataError), err
    assert "16,777,216 bytes of data), more than the reader's limit of 1,048,576 bytes" in str(err)
    assert peak < 256 << 10, peak


def test_a_gzip_that_inflates_past_its_header_stops_one_byte_after_the_declared_data(tmp_path):
    """A header that declares 36 bytes, followed by 16 MiB of zeros: the reader inflates 37 and stops."""
    path = tmp_path / "long.gz"
    _gzip_stream(path, [_header(0x08, (4, 3, 3))], 16 << 20)
    err, peak = _peak(lambda: D.read_idx(path))
    assert isinstance(err, D.DataError) and "(36 bytes of data) but the file holds more" in str(err), err
    assert peak < 256 << 10, peak


def test_the_default_bound_refuses_a_gibibyte(tmp_path):
    """The issue's 1 GiB case: refused from its header by the default bound, for gzip and raw files."""
    dims = ((1 << 30) // 784, 28, 28)
    for name, write in (("big.gz", lambda p: _gzip_stream(p, [_header(0x08, dims)], 4096)),
                        ("big", lambda p: p.write_bytes(_header(0x08, dims) + bytes(4096)))):
        write(tmp_path / name)
        err, peak = _peak(lambda: D.read_idx(tmp_path / name))
        assert isinstance(err, D.DataError) and "more than the reader's limit of 134,217,728 bytes" in str(err), err
        assert peak < 256 << 10, peak


def test_a_raw_file_is_sized_against_its_header_before_its_data_are_read(tmp_path):
    """A raw header declaring 100 MB over a few bytes of data: refused from the file's size, unallocated."""
    path = tmp_path / "short"
    path.write_bytes(_header(0x08, (100, 1000, 1000)) + bytes(10))
    err, peak = _peak(lambda: D.read_idx(path))
    assert isinstance(err, D.DataError) and "(100000000 bytes of data) but the file holds 10" in str(err), err
    assert peak < 256 << 10, peak


@pytest.mark.parametrize("content,message", [
    (_header(0x08, (2**32 - 1,) * 4), "more than the reader's limit"),  # 2**128 elements: overflowed int64
    (_header(0x0E, (2**31, 2**31, 2**31)), "more than the reader's limit"),
    (b"\x00\x00\x08\x00" + bytes(8), "declares no dimensions"),
    (b"\x00\x00\x08\x03" + bytes(5), r"header is truncated \(3 dimensions declared\)"),
    (b"\x00\x00\x08", "wrong magic number 000008"),
    (_header(0x08, (2, 2)) + bytes(5), r"\(4 bytes of data\) but the file holds 5"),
    (_header(0x0C, (2,)) + bytes(7), r"\(8 bytes of data\) but the file holds 7"),
], ids=["2**128 elements", "float64 2**93", "no dimensions", "short header", "short magic", "trailing", "short"])
@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_hostile_headers_are_one_data_error(tmp_path, content, message, gz):
    path = tmp_path / ("x.gz" if gz else "x")
    path.write_bytes(gzip.compress(content, mtime=0) if gz else content)
    if gz and "file holds 5" in message:  # trailing data is found by inflating one byte past the declared data
        message = r"\(4 bytes of data\) but the file holds more"
    with pytest.raises(D.DataError, match=message) as e:
        D.read_idx(path)
    assert "\n" not in str(e.value) and str(path) in str(e.value)


@pytest.mark.parametrize("damage", [
    lambda raw: raw[:-8] + bytes(8),  # CRC and length zeroed
    lambda raw: raw + b"garbage after the stream",
    lambda raw: raw[:10] + bytes(len(raw) - 10),  # the deflate stream zeroed
])
def test_damaged_gzip_streams_are_one_data_error(tmp_path, damage):
    path = tmp_path / "x.gz"
    D.write_idx(path, np.arange(36, dtype=np.uint8).reshape(4, 3, 3))
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(D.DataError, match=r"x\.gz is a damaged gzip file") as e:
        D.read_idx(path)
    assert "\n" not in str(e.value)


def test_a_folder_is_not_an_idx_file(tmp_path):
    with pytest.raises(D.DataError, match="is a folder, not an IDX file"):
        D.read_idx(tmp_path)


@pytest.mark.parametrize("labels,message", [
    (np.array([0, 1, -1, 2, 0], np.int8), r"label -1 \(at index 2\) is negative"),
    (np.array([0, 1, 2, 2, 0], np.float32), "labels must be integers, not float32"),
    (np.array([0, 1, 2, 10, 0], np.uint8), r"label 10 \(at index 3\) is not below the class count 10"),
    (np.array([0, 1, 2, 2**20, 0], np.int32), r"label 1048576 \(at index 3\) is not below 1000"),
    (np.zeros((5, 1), np.uint8), r"must hold labels \(N,\); got shape \(5, 1\)"),
])
def test_labels_are_validated(tmp_path, labels, message):
    """Negative labels were accepted (and made the class count wrong); labels are integers below the
    class count (10 for Fashion-MNIST, at most MAX_CLASSES where it is not stated), one per image."""
    _write_mnist_like(tmp_path, gz=False)
    D.write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels)
    read = D.fashion_mnist.__wrapped__ if "class count 10" in message else D.read_idx_folder
    with pytest.raises(D.DataError, match=message) as e:
        read(str(tmp_path))
    assert "t10k-labels-idx1-ubyte" in str(e.value) and "\n" not in str(e.value)


def test_the_class_count_is_stated_or_found(tmp_path):
    _write_mnist_like(tmp_path)
    assert D.read_idx_folder(tmp_path, classes=10).classes == 10
    assert D.read_idx_folder(tmp_path).classes == 3


@pytest.mark.parametrize("images,message", [
    (np.full((5, 6, 6), np.nan, np.float32), "NaN or infinite pixels"),
    (np.full((5, 6, 6), -3, np.int8), r"negative pixels \(minimum -3\)"),
])
def test_images_that_cannot_be_scaled_to_0_1_are_refused(tmp_path, images, message):
    _write_mnist_like(tmp_path, gz=False)
    D.write_idx(tmp_path / "t10k-images-idx3-ubyte", images)
    with pytest.raises(D.DataError, match=message):
        D.read_idx_folder(tmp_path)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_every_element_type_round_trips_in_native_byte_order(tmp_path, monkeypatch, dtype, suffix):
    """Streamed in chunks smaller than the data (the chunk size lowered to 7 bytes) and swapped in place."""
    monkeypatch.setattr(D, "_CHUNK", 7)
    values = (np.arange(-30, 30) * 3).astype(dtype) if np.dtype(dtype).kind != "u" else np.arange(60, dtype=dtype)
    values = values.reshape(3, 4, 5)
    D.write_idx(tmp_path / f"a{suffix}", values)
    out = D.read_idx(tmp_path / f"a{suffix}")
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, values)
