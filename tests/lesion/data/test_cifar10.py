"""The CIFAR-10 archive: fetch, verify and convert an official-format archive, from HTTP or a local mirror."""

import errno
import io
import pickle
import tarfile
from dataclasses import replace

import numpy as np
import pytest

from lesion.data import cifar, datasets, sources
from lesion.errors import DownloadError
from tests.fixtures.cifar import CLASS_NAMES, RunsCommand, Server, make_archive, md5s
from tests.fixtures.datasets import with_checksums


def download(url, verify, output):
    datasets.download("cifar10", url, verify, output)


def test_download_verifies_and_round_trips(served, synthetic, tmp_path, monkeypatch):
    server, _ = served
    files, arrays = synthetic
    output = tmp_path / "data" / "cifar10.npz"
    with_checksums(monkeypatch, "cifar10", md5s(files))
    download(server.url("cifar-10-python.tar.gz"), True, output)
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
        download(server.url("a.tar.gz"), False, tmp_path / "out.npz")
    finally:
        server.close()
    assert (tmp_path / "out.npz").exists()


@pytest.mark.parametrize("url_kind", ["path", "file_url"])
def test_local_mirror(synthetic, tmp_path, url_kind):
    archive = tmp_path / "mirror.tar.gz"
    archive.write_bytes(make_archive(synthetic[0]))
    url = str(archive) if url_kind == "path" else archive.as_uri()
    download(url, False, tmp_path / "out.npz")
    with np.load(tmp_path / "out.npz") as data:
        assert len(data["y_test"]) == 40


def test_missing_local_archive_is_clear(tmp_path):
    with pytest.raises(DownloadError, match="no archive at .*: check data.url, which should name a local copy"):
        download(str(tmp_path / "absent.tar.gz"), True, tmp_path / "out.npz")


def local_archive(tmp_path, files, extra=()):
    """An archive of `files` (plus (member name, bytes) pairs `extra`) at a local path."""
    archive = tmp_path / "mirror.tar.gz"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in [(f"cifar-10-batches-py/{n}", c) for n, c in files.items()] + list(extra):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    archive.write_bytes(buffer.getvalue())
    return str(archive)


@pytest.mark.parametrize("member", ["data_batch_1", "batches.meta"])
def test_a_pickle_that_runs_code_is_refused_and_runs_nothing(synthetic, tmp_path, member):
    marker = tmp_path / "pwned"
    files = dict(synthetic[0])
    files[member] = pickle.dumps({b"data": RunsCommand(f"touch {marker}"), b"labels": [0],
                                  b"label_names": RunsCommand(f"touch {marker}")}, protocol=2)
    with pytest.raises(DownloadError) as error:
        download(local_archive(tmp_path, files), False, tmp_path / "data" / "cifar10.npz")
    assert f"{member} is not a CIFAR-10 batch file (it asks for posix.system" in str(error.value)
    assert not marker.exists() and not (tmp_path / "data" / "cifar10.npz").exists()


def test_only_the_exact_official_member_paths_are_read(synthetic, tmp_path):
    names = [b"x%d" % i for i in range(10)]
    impostor = pickle.dumps({b"label_names": names}, protocol=2)
    url = local_archive(tmp_path, synthetic[0], extra=[("../../elsewhere/batches.meta", impostor),
                                                        ("cifar-10-batches-py/sub/batches.meta", impostor)])
    download(url, False, tmp_path / "out.npz")
    with np.load(tmp_path / "out.npz") as data:
        assert list(data["class_names"]) == CLASS_NAMES
    doubled = local_archive(tmp_path, synthetic[0], extra=[("cifar-10-batches-py/batches.meta", impostor)])
    with pytest.raises(DownloadError, match="holds cifar-10-batches-py/batches.meta twice"):
        download(doubled, False, tmp_path / "out.npz")


def test_an_oversized_member_is_refused_before_it_is_written(synthetic, tmp_path, monkeypatch):
    small = replace(datasets.DATASETS["cifar10"], max_member_bytes=1000)  # the synthetic batches are about 6 kB
    monkeypatch.setitem(datasets.DATASETS, "cifar10", small)
    with pytest.raises(DownloadError, match="is not a regular file under 0 MiB"):
        download(local_archive(tmp_path, synthetic[0]), False, tmp_path / "data" / "out.npz")
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == []  # its scratch folder is gone too


@pytest.mark.parametrize("kind, message", [
    ("label", "data_batch_2 has labels from 0 to 12, outside 0..9 of the 10 classes of batches.meta"),
    ("names", "batches.meta names 9 classes (9 distinct), CIFAR-10 has 10"),
])
def test_labels_and_class_names_must_be_cifar10s(synthetic, tmp_path, kind, message):
    files = dict(synthetic[0])
    if kind == "label":
        batch = pickle.loads(files["data_batch_2"], encoding="bytes")
        batch[b"labels"][3] = 12
        files["data_batch_2"] = pickle.dumps(batch, protocol=2)
    else:
        files["batches.meta"] = pickle.dumps({b"label_names": [c.encode() for c in CLASS_NAMES[:9]]}, protocol=2)
    with pytest.raises(DownloadError) as error:
        download(local_archive(tmp_path, files), False, tmp_path / "out.npz")
    assert str(error.value).startswith(message)


class FullDisk:
    """A file whose every write fails as on a full disk."""

    def __init__(self, *args, **kwargs):
        pass

    def write(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("source", ["local", "http"])
def test_a_full_disk_is_reported_as_one(served, synthetic, tmp_path, monkeypatch, source):
    url = local_archive(tmp_path, synthetic[0]) if source == "local" else served[0].url("cifar-10-python.tar.gz")
    real_open = open
    for module in (sources, cifar):  # the download's writes, and the extraction's
        monkeypatch.setattr(module, "open", lambda path, mode="r", *a, **k: FullDisk() if "w" in mode
                            else real_open(path, mode, *a, **k), raising=False)
    with pytest.raises(DownloadError) as error:
        download(url, False, tmp_path / "data" / "out.npz")
    assert "No space left on device: free space on that disk" in str(error.value)
    assert "network" not in str(error.value) and "download it again" not in str(error.value)


def test_scratch_of_a_killed_run_is_swept(synthetic, tmp_path):
    stale = tmp_path / "data" / ".download.abc123"
    stale.mkdir(parents=True)
    (stale / "data_batch_1").write_bytes(b"x" * 100)
    download(local_archive(tmp_path, synthetic[0]), False, tmp_path / "data" / "cifar10.npz")
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["cifar10.npz"]
