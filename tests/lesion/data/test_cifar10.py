"""The CIFAR-10 archive: fetch, verify and convert an official-format archive, from HTTP or a local mirror."""

import pickle

import numpy as np
import pytest

from lesion.data import cifar10
from lesion.errors import DownloadError
from tests.fixtures.cifar import CLASS_NAMES, Server, make_archive, md5s


def test_download_verifies_and_round_trips(served, synthetic, tmp_path):
    server, _ = served
    files, arrays = synthetic
    output = tmp_path / "data" / "cifar10.npz"
    cifar10.download(server.url("cifar-10-python.tar.gz"), True, output, checksums=md5s(files))
    with np.load(output) as data:
        train = [arrays[f"data_batch_{i}"] for i in range(1, 6)]
        np.testing.assert_array_equal(data["x_train"], np.concatenate([x for x, _ in train]))
        np.testing.assert_array_equal(data["y_train"], np.concatenate([y for _, y in train]))
        np.testing.assert_array_equal(data["x_test"], arrays["test_batch"][0])
        np.testing.assert_array_equal(data["y_test"], arrays["test_batch"][1])
        assert list(data["class_names"]) == CLASS_NAMES
        assert data["x_train"].shape == (100, 32, 32, 3) and data["x_train"].dtype == np.uint8
    assert sorted(p.name for p in (tmp_path / "data").rglob("*")) == ["cifar10.npz"]  # no temporaries left


def test_pixel_layout_is_red_green_blue_planes(synthetic):
    """Row layout check: the first 1024 values of a row are the red plane, in row-major pixel order."""
    files, arrays = synthetic
    batch = pickle.loads(files["data_batch_1"], encoding="bytes")
    images, _ = arrays["data_batch_1"]
    assert batch[b"data"][0][5] == images[0, 0, 5, 0]
    assert batch[b"data"][0][1024 + 32] == images[0, 1, 0, 1]
    assert batch[b"data"][0][2048 + 33] == images[0, 1, 1, 2]


def test_retries_transient_server_errors(synthetic, tmp_path):
    folder = tmp_path / "www"
    folder.mkdir()
    (folder / "a.tar.gz").write_bytes(make_archive(synthetic[0]))
    server = Server(folder, failures=2)
    try:
        cifar10.download(server.url("a.tar.gz"), False, tmp_path / "out.npz")
    finally:
        server.close()
    assert (tmp_path / "out.npz").exists()


@pytest.mark.parametrize("url_kind", ["path", "file_url"])
def test_local_mirror(synthetic, tmp_path, url_kind):
    archive = tmp_path / "mirror.tar.gz"
    archive.write_bytes(make_archive(synthetic[0]))
    url = str(archive) if url_kind == "path" else archive.as_uri()
    cifar10.download(url, False, tmp_path / "out.npz")
    with np.load(tmp_path / "out.npz") as data:
        assert len(data["y_test"]) == 40


def test_missing_local_archive_is_clear(tmp_path):
    with pytest.raises(DownloadError, match="no archive at"):
        cifar10.download(str(tmp_path / "absent.tar.gz"), True, tmp_path / "out.npz")
