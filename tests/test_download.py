"""Stage `download`: fetch, verify and convert an official-format archive; fail cleanly on bad input."""

import numpy as np
import pytest

from stages import download
from stages.common import StageError
from tests.cifar_fixture import CLASS_NAMES, Server, make_archive, md5s
from tests.conftest import run_module, write_params


def leftovers(project):
    """Every file the stage may have left in data/ (outputs and temporaries)."""
    data = project / "data"
    return sorted(p.name for p in data.rglob("*")) if data.exists() else []


def test_download_verifies_and_round_trips(served, synthetic, tmp_path):
    server, _ = served
    files, arrays = synthetic
    output = tmp_path / "data" / "cifar10.npz"
    download.download(server.url("cifar-10-python.tar.gz"), True, output, checksums=md5s(files))
    with np.load(output) as data:
        train = [arrays[f"data_batch_{i}"] for i in range(1, 6)]
        np.testing.assert_array_equal(data["x_train"], np.concatenate([x for x, _ in train]))
        np.testing.assert_array_equal(data["y_train"], np.concatenate([y for _, y in train]))
        np.testing.assert_array_equal(data["x_test"], arrays["test_batch"][0])
        np.testing.assert_array_equal(data["y_test"], arrays["test_batch"][1])
        assert list(data["class_names"]) == CLASS_NAMES
        assert data["x_train"].shape == (100, 32, 32, 3) and data["x_train"].dtype == np.uint8
    assert leftovers(tmp_path) == ["cifar10.npz"]


def test_pixel_layout_is_red_green_blue_planes(synthetic):
    """Row layout check: the first 1024 values of a row are the red plane, in row-major pixel order."""
    files, arrays = synthetic
    import pickle

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
        download.download(server.url("a.tar.gz"), False, tmp_path / "out.npz")
    finally:
        server.close()
    assert (tmp_path / "out.npz").exists()


@pytest.mark.parametrize("url_kind", ["path", "file_url"])
def test_local_mirror(synthetic, tmp_path, url_kind):
    archive = tmp_path / "mirror.tar.gz"
    archive.write_bytes(make_archive(synthetic[0]))
    url = str(archive) if url_kind == "path" else archive.as_uri()
    download.download(url, False, tmp_path / "out.npz")
    with np.load(tmp_path / "out.npz") as data:
        assert len(data["y_test"]) == 40


def test_cli_writes_output(served, project):
    server, _ = served
    write_params(project, data={"url": server.url("cifar-10-python.tar.gz"), "verify": False})
    result = run_module(project, "download")
    assert result.returncode == 0, result.stderr
    assert leftovers(project) == ["cifar10.npz"]


def assert_one_error_line(stderr, message):
    """Exactly one error line, the last thing printed (a progress bar may come before it)."""
    errors = [line for line in stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and errors[0].startswith("error: ") and message in errors[0], stderr
    assert stderr.strip().splitlines()[-1] == errors[0]


def bad_archive(kind, files, folder):
    """Write one kind of bad archive into `folder` and return its name ('' for a missing one)."""
    whole = make_archive(files)
    content = {
        "truncated": whole[: len(whole) // 2],
        "corrupt": b"this is not a gzip file at all" * 100,
        "missing_batch": make_archive(files, omit={"data_batch_3"}),
        "wrong_checksum": whole,
    }[kind]
    (folder / f"{kind}.tar.gz").write_bytes(content)
    return f"{kind}.tar.gz"


@pytest.mark.parametrize(
    "kind, verify, message",
    [
        ("truncated", False, "not a readable tar.gz archive"),
        ("corrupt", False, "not a readable tar.gz archive"),
        ("missing_batch", False, "lacks cifar-10-batches-py/data_batch_3"),
        ("wrong_checksum", True, "data_batch_1 has md5"),
        ("unreachable", False, "cannot download"),
        ("not_found", False, "HTTP 404"),
    ],
)
def test_bad_input_fails_cleanly(served, synthetic, project, kind, verify, message, monkeypatch):
    server, folder = served
    if kind == "unreachable":
        url = "http://127.0.0.1:9/cifar-10-python.tar.gz"  # the discard port: nothing listens
    elif kind == "not_found":
        url = server.url("nothing-here.tar.gz")
    else:
        url = server.url(bad_archive(kind, synthetic[0], folder))
    write_params(project, data={"url": url, "verify": verify})
    (project / "data").mkdir()
    (project / "data" / "cifar10.npz").write_bytes(b"stale output of an earlier run")
    result = run_module(project, "download")
    assert result.returncode != 0
    assert_one_error_line(result.stderr, message)
    assert leftovers(project) == []


def test_missing_local_archive_is_clear(tmp_path):
    with pytest.raises(StageError, match="no archive at"):
        download.download(str(tmp_path / "absent.tar.gz"), True, tmp_path / "out.npz")
