"""Stage `download`: writes data/cifar10.npz; every bad input ends in one error line and leaves nothing."""

import pickle

import pytest

from tests.conftest import run_module, write_params
from tests.fixtures.cifar import RunsCommand, make_archive


def leftovers(project):
    """Every file the stage may have left in data/ (outputs and temporaries)."""
    data = project / "data"
    return sorted(p.name for p in data.rglob("*")) if data.exists() else []


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
        "runs_code": make_archive(dict(files, data_batch_1=pickle.dumps(RunsCommand(f"touch {folder}/pwned")))),
        "bad_meta": make_archive(dict(files, **{"batches.meta": pickle.dumps({b"label_names": "cat"})})),
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
        ("runs_code", False, "data_batch_1 is not a CIFAR-10 batch file (it asks for posix.system"),
        ("bad_meta", False, "batches.meta has no list of label_names"),
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
    assert not (folder / "pwned").exists()
