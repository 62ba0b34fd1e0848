"""CIFAR-100 and its 20 superclasses: one python archive, read through the path CIFAR-10 takes, with the fine or the
coarse label field."""

import pickle

import numpy as np
import pytest

from lesion.data import datasets
from lesion.errors import DownloadError
from tests.fixtures.cifar import RunsCommand, make_archive, md5s
from tests.fixtures.datasets import COARSE_NAMES, FINE_NAMES, make_cifar100, with_checksums

ARCHIVE = "cifar-100-python.tar.gz"
LABELS = {"cifar100": (1, FINE_NAMES), "cifar100_coarse": (2, COARSE_NAMES)}  # (field of the planted arrays, names)


@pytest.fixture(scope="module")
def release():
    return make_cifar100()


def write_archive(folder, files, **kwargs):
    """Write an archive of `files` laid out as the official one into `folder`; returns its path."""
    path = folder / ARCHIVE
    path.write_bytes(make_archive(files, folder="cifar-100-python", **kwargs))
    return path


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("name", LABELS)
def test_download_verifies_and_round_trips(www, release, tmp_path, monkeypatch, name):
    server, folder = www
    files, arrays = release
    write_archive(folder, files)
    with_checksums(monkeypatch, name, md5s(files))
    field, names = LABELS[name]
    datasets.download(name, server.url(ARCHIVE), True, tmp_path / "data" / "out.npz")
    with np.load(tmp_path / "data" / "out.npz") as data:
        assert data["x_train"].shape == (30, 32, 32, 3) and data["x_train"].dtype == np.uint8
        assert data["y_train"].dtype == np.uint8 and data["x_test"].shape == (12, 32, 32, 3)
        np.testing.assert_array_equal(data["x_train"], arrays["train"][0])
        np.testing.assert_array_equal(data["y_train"], arrays["train"][field])
        np.testing.assert_array_equal(data["x_test"], arrays["test"][0])
        np.testing.assert_array_equal(data["y_test"], arrays["test"][field])
        assert list(data["class_names"]) == names
    assert leftovers(tmp_path / "data") == ["out.npz"]


def test_pixels_are_read_as_red_green_blue_planes(release, tmp_path):
    """A value of the raw row lands on the pixel and channel its plane and offset say (the first image is a ramp)."""
    files, _ = release
    datasets.download("cifar100", str(write_archive(tmp_path, files)), False, tmp_path / "out.npz")
    row = pickle.loads(files["train"], encoding="bytes")[b"data"][0]
    with np.load(tmp_path / "out.npz") as data:
        image = data["x_train"][0]
    assert image[0, 5, 0] == row[5] == 15  # red plane, row 0, column 5: the ramp's (0 * 32 + 5) * 3
    assert image[1, 0, 1] == row[1024 + 32] == 97  # green plane, row 1, column 0
    assert image[1, 1, 2] == row[2048 + 33] == 101  # blue plane, row 1, column 1


def test_fine_and_coarse_read_different_fields_of_one_archive(release, tmp_path):
    url = str(write_archive(tmp_path, release[0]))
    datasets.download("cifar100", url, False, tmp_path / "fine.npz")
    datasets.download("cifar100_coarse", url, False, tmp_path / "coarse.npz")
    with np.load(tmp_path / "fine.npz") as fine, np.load(tmp_path / "coarse.npz") as coarse:
        np.testing.assert_array_equal(fine["x_train"], coarse["x_train"])
        np.testing.assert_array_equal(coarse["y_train"], fine["y_train"] // 5)  # the planted superclasses
        assert (fine["y_train"] != coarse["y_train"]).any()
        assert (len(fine["class_names"]), len(coarse["class_names"])) == (100, 20)


@pytest.mark.parametrize("url_kind", ["path", "file_url"])
def test_local_mirror(release, tmp_path, url_kind):
    archive = write_archive(tmp_path, release[0])
    datasets.download("cifar100", str(archive) if url_kind == "path" else archive.as_uri(), False,
                      tmp_path / "out.npz")
    with np.load(tmp_path / "out.npz") as data:
        np.testing.assert_array_equal(data["y_test"], release[1]["test"][1])


def test_a_wrong_md5_is_one_error_and_leaves_nothing(release, tmp_path, monkeypatch):
    files = release[0]
    with_checksums(monkeypatch, "cifar100", dict(md5s(files), test="0" * 32))
    with pytest.raises(DownloadError) as error:
        datasets.download("cifar100", str(write_archive(tmp_path, files)), True, tmp_path / "data" / "out.npz")
    assert str(error.value) == (f"test has md5 {md5s(files)['test']}, expected {'0' * 32}: the download is damaged "
                                "or not the official CIFAR-100; download it again, or set data.verify=false for a "
                                "faithful mirror")
    assert leftovers(tmp_path / "data") == []


def test_the_published_md5s_refuse_a_synthetic_archive(release, tmp_path):
    with pytest.raises(DownloadError, match="^train has md5 .*, expected 16019d7e3df5f24257cddd939b257f8d"):
        datasets.download("cifar100", str(write_archive(tmp_path, release[0])), True, tmp_path / "out.npz")


@pytest.mark.parametrize("member", ["train", "meta"])
def test_a_pickle_that_runs_code_is_refused_and_runs_nothing(release, tmp_path, member):
    marker = tmp_path / "pwned"
    files = dict(release[0])
    files[member] = pickle.dumps({b"data": RunsCommand(f"touch {marker}"), b"fine_labels": [0],
                                  b"fine_label_names": RunsCommand(f"touch {marker}")}, protocol=2)
    with pytest.raises(DownloadError) as error:
        datasets.download("cifar100", str(write_archive(tmp_path, files)), False, tmp_path / "data" / "out.npz")
    assert f"{member} is not a CIFAR-100 batch file (it asks for posix.system" in str(error.value)
    assert not marker.exists() and leftovers(tmp_path / "data") == []


def test_a_missing_member_is_named(release, tmp_path):
    with pytest.raises(DownloadError, match="lacks cifar-100-python/meta: it is not a complete CIFAR-100"):
        datasets.download("cifar100", str(write_archive(tmp_path, release[0], omit={"meta"})), False,
                          tmp_path / "out.npz")


@pytest.mark.parametrize("name, message", [
    ("cifar100", "train has fine_labels from {low} to 100, outside 0..99 of the 100 classes of meta"),
    ("cifar100_coarse", "meta names 19 classes (19 distinct), CIFAR-100 has 20 (coarse_label_names)"),
])
def test_labels_and_names_must_be_the_releases(release, tmp_path, name, message):
    files = dict(release[0])
    batch = pickle.loads(files["train"], encoding="bytes")
    batch[b"fine_labels"][3] = 100
    files["train"] = pickle.dumps(batch, protocol=2)
    low = min(batch[b"fine_labels"])
    meta = pickle.loads(files["meta"], encoding="bytes")
    meta[b"coarse_label_names"] = meta[b"coarse_label_names"][:19]
    files["meta"] = pickle.dumps(meta, protocol=2)
    with pytest.raises(DownloadError) as error:
        datasets.download(name, str(write_archive(tmp_path, files)), False, tmp_path / "out.npz")
    assert str(error.value).startswith(message.format(low=low))
