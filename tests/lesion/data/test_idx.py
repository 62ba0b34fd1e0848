"""MNIST and Fashion-MNIST: four gzip'd idx files under a folder URL, fetched, verified and converted through the
path CIFAR takes; a damaged, swapped or hostile idx file is one clear error that leaves nothing behind."""

import gzip

import numpy as np
import pytest

from lesion.data import datasets, idx
from lesion.errors import DownloadError
from tests.fixtures.cifar import md5s
from tests.fixtures.datasets import IMAGES_MAGIC, LABELS_MAGIC, idx_file, make_idx, with_checksums

NAMES = {"mnist": [str(d) for d in range(10)],
         "fashion_mnist": ["tshirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
                           "ankle_boot"]}
TRAIN_IMAGES, TRAIN_LABELS = "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"


@pytest.fixture(scope="module")
def release():
    return make_idx()


def write_files(folder, files):
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return folder


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("slash", ["/", ""])
def test_download_verifies_and_round_trips(www, release, tmp_path, monkeypatch, name, slash):
    server, folder = www
    files, arrays = release
    write_files(folder / "release", files)
    with_checksums(monkeypatch, name, md5s(files))
    datasets.download(name, server.url("release") + slash, True, tmp_path / "data" / "out.npz")
    with np.load(tmp_path / "data" / "out.npz") as data:
        assert data["x_train"].shape == (12, 28, 28, 1) and data["x_train"].dtype == np.uint8
        assert data["x_test"].shape == (5, 28, 28, 1) and data["y_train"].dtype == np.uint8
        np.testing.assert_array_equal(data["x_train"][..., 0], arrays["train"][0])
        np.testing.assert_array_equal(data["y_train"], arrays["train"][1])
        np.testing.assert_array_equal(data["x_test"][..., 0], arrays["test"][0])
        np.testing.assert_array_equal(data["y_test"], arrays["test"][1])
        assert list(data["class_names"]) == NAMES[name]
    assert leftovers(tmp_path / "data") == ["out.npz"]


def test_pixels_are_read_row_by_row(release, tmp_path):
    """The first planted image is a ramp in row-major order: the value after 28 of them starts the second row."""
    datasets.download("mnist", str(write_files(tmp_path / "mnist", release[0])), False, tmp_path / "out.npz")
    with np.load(tmp_path / "out.npz") as data:
        image = data["x_train"][0, :, :, 0]
    assert (image[0, 1], image[1, 0], image[2, 27]) == (1, 28, 83)


@pytest.mark.parametrize("url_kind", ["path", "file_url"])
@pytest.mark.parametrize("name", NAMES)
def test_local_folder(release, tmp_path, url_kind, name):
    folder = write_files(tmp_path / "mirror", release[0])
    datasets.download(name, str(folder) if url_kind == "path" else folder.as_uri(), False, tmp_path / "out.npz")
    with np.load(tmp_path / "out.npz") as data:
        np.testing.assert_array_equal(data["y_test"], release[1]["test"][1])


def test_a_missing_local_file_is_named(release, tmp_path):
    folder = write_files(tmp_path / "mirror", {k: v for k, v in release[0].items() if k != TRAIN_LABELS})
    with pytest.raises(DownloadError) as error:
        datasets.download("fashion_mnist", str(folder), False, tmp_path / "data" / "out.npz")
    assert str(error.value) == (f"no {TRAIN_LABELS} at {folder / TRAIN_LABELS}: check data.url, which should name "
                                "a local folder holding Fashion-MNIST's four .gz files")
    assert leftovers(tmp_path / "data") == []


def test_a_missing_remote_file_is_one_error(www, release, tmp_path):
    server, folder = www
    write_files(folder, {k: v for k, v in release[0].items() if k != "t10k-labels-idx1-ubyte.gz"})
    with pytest.raises(DownloadError) as error:
        datasets.download("mnist", server.url(""), False, tmp_path / "data" / "out.npz")
    assert str(error.value) == (f"cannot download {server.url('t10k-labels-idx1-ubyte.gz')}: HTTP 404 File not found; "
                                "check the URL and network, or point data.url at a local folder holding MNIST's four "
                                ".gz files: dvc exp run -S data.url=/path/to/mnist/")
    assert leftovers(tmp_path / "data") == []


@pytest.mark.parametrize("name, title", [("mnist", "MNIST"), ("fashion_mnist", "Fashion-MNIST")])
def test_a_wrong_md5_is_one_error_and_leaves_nothing(release, tmp_path, monkeypatch, name, title):
    files = release[0]
    with_checksums(monkeypatch, name, dict(md5s(files), **{TRAIN_IMAGES: "f" * 32}))
    with pytest.raises(DownloadError) as error:
        datasets.download(name, str(write_files(tmp_path / "mirror", files)), True, tmp_path / "data" / "out.npz")
    assert str(error.value) == (f"{TRAIN_IMAGES} has md5 {md5s(files)[TRAIN_IMAGES]}, expected {'f' * 32}: the "
                                f"download is damaged or not the official {title}; download it again, or set "
                                "data.verify=false for a faithful mirror")
    assert leftovers(tmp_path / "data") == []


@pytest.mark.parametrize("name, first", [("mnist", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
                                         ("fashion_mnist", "8d4fb7e6c68d591d4c3dfef9ec88bf0d")])
def test_the_published_md5s_refuse_synthetic_files(release, tmp_path, name, first):
    with pytest.raises(DownloadError, match=f"^{TRAIN_IMAGES} has md5 .*, expected {first}"):
        datasets.download(name, str(write_files(tmp_path / "mirror", release[0])), True, tmp_path / "out.npz")


def gz(content):
    return gzip.compress(content, mtime=0)


def damaged(kind, files, arrays):
    """The release with one file damaged in the way `kind` says."""
    images, labels = arrays["train"]
    raw_images = idx_file(IMAGES_MAGIC, images, compress=False)
    return dict(files, **{
        "truncated_gzip": {TRAIN_IMAGES: files[TRAIN_IMAGES][: len(files[TRAIN_IMAGES]) // 2]},
        "not_gzip": {TRAIN_IMAGES: b"<html>moved</html>"},
        "swapped": {TRAIN_IMAGES: files[TRAIN_LABELS], TRAIN_LABELS: files[TRAIN_IMAGES]},
        "short_header": {TRAIN_IMAGES: gz(raw_images[:6])},
        "truncated_pixels": {TRAIN_IMAGES: gz(raw_images[:-10])},
        "trailing_bytes": {TRAIN_IMAGES: gz(raw_images + b"\0")},
        "wrong_size": {TRAIN_IMAGES: idx_file(IMAGES_MAGIC, np.zeros((12, 32, 32), np.uint8))},
        "count_mismatch": {TRAIN_LABELS: idx_file(LABELS_MAGIC, labels[:11])},
        "label_range": {TRAIN_LABELS: idx_file(LABELS_MAGIC, np.where(np.arange(12) == 4, 10, labels))},
    }[kind])


@pytest.mark.parametrize("kind, message", [
    ("truncated_gzip", f"{TRAIN_IMAGES} is not a readable gzip file (Compressed file ended before the end-of-stream "
                       "marker was reached)"),
    ("not_gzip", f"{TRAIN_IMAGES} is not a readable gzip file (Not a gzipped file (b'<h'))"),
    ("swapped", f"{TRAIN_IMAGES} has magic number 0x00000801, where its kind of idx file has 0x00000803"),
    ("short_header", f"{TRAIN_IMAGES} ends after 6 bytes, inside its 16-byte header"),
    ("truncated_pixels", f"{TRAIN_IMAGES} holds 9398 bytes after its header, which promises 12 of 784 bytes = 9408"),
    ("trailing_bytes", f"{TRAIN_IMAGES} holds 9409 bytes after its header, which promises 12 of 784 bytes = 9408"),
    ("wrong_size", f"{TRAIN_IMAGES} has dimensions [12, 32, 32], expected up to 100000 of [28, 28]"),
    ("count_mismatch", f"{TRAIN_IMAGES} has 12 images but {TRAIN_LABELS} has 11 labels: they are not one official "
                       "MNIST split"),
    ("label_range", f"{TRAIN_LABELS} has labels up to 10, outside the 10 classes 0..9"),
])
def test_a_bad_idx_file_is_one_clear_error(release, tmp_path, kind, message):
    folder = write_files(tmp_path / "mirror", damaged(kind, *release))
    with pytest.raises(DownloadError) as error:
        datasets.download("mnist", str(folder), False, tmp_path / "data" / "out.npz")
    assert str(error.value).startswith(message)
    assert str(error.value).endswith("or point data.url at a local folder holding MNIST's four .gz files: dvc exp run "
                                     "-S data.url=/path/to/mnist/")
    assert leftovers(tmp_path / "data") == []


def test_a_file_over_the_size_bound_is_refused_unread(release, tmp_path, monkeypatch):
    monkeypatch.setattr(idx, "MAX_COUNT", 10)  # the planted train split has 12 images
    with pytest.raises(DownloadError, match=f"^{TRAIN_IMAGES} has dimensions \\[12, 28, 28\\], expected up to 10 of"):
        datasets.download("mnist", str(write_files(tmp_path / "mirror", release[0])), False, tmp_path / "out.npz")
