"""The one error rule: every failure is one `error:` line, exit status 1, and no outputs left, new or old; a
stage's outputs appear together; LESION_DEBUG shows a bug's traceback."""

import errno

import pytest

from lesion.errors import InputError
from lesion.files import atomic_path
from lesion.stage import DEBUG, run_stage


def fails_with(error, tmp_path, capsys):
    """Run a stage main that writes one output, then raises `error`: (exit code, stderr, outputs left)."""
    output = tmp_path / "out.csv"
    output.write_text("an earlier run's result")

    def main():
        with atomic_path(tmp_path / "new.csv") as tmp:
            tmp.write_text("half")
        raise error

    with pytest.raises(SystemExit) as exit_:
        run_stage(main, outputs=[output, tmp_path / "new.csv"])
    return exit_.value.code, capsys.readouterr().err, sorted(p.name for p in tmp_path.iterdir())


def test_a_lesion_error_is_one_line_and_leaves_no_output(tmp_path, capsys):
    message = "data/x.csv is missing: run the earlier stages first (dvc repro corrupt)"
    assert fails_with(InputError(message), tmp_path, capsys) == (1, f"error: {message}\n", [])


def test_an_os_error_is_one_line_with_its_path(tmp_path, capsys):
    code, err, left = fails_with(OSError(errno.ENOSPC, "No space left on device", "data/eval"), tmp_path, capsys)
    assert (code, left) == (1, [])
    assert err == "error: No space left on device (data/eval): free space or fix permissions there, then rerun\n"


def test_a_bug_is_one_line_unless_debugging(tmp_path, capsys, monkeypatch):
    code, err, left = fails_with(ZeroDivisionError("division by zero"), tmp_path, capsys)
    assert (code, left) == (1, [])
    assert err == ("error: unexpected ZeroDivisionError: division by zero; this is a bug, please report it (set "
                   "LESION_DEBUG=1 to see the traceback)\n")
    monkeypatch.setenv(DEBUG, "1")
    with pytest.raises(ZeroDivisionError):
        run_stage(lambda: 1 / 0)


def test_outputs_appear_together_at_the_end(tmp_path):
    seen = []

    def main():
        for name in ("manifest.csv", "labels.npz"):
            with atomic_path(tmp_path / name) as tmp:
                tmp.write_text(name)
            seen.append(sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")))

    run_stage(main, outputs=[tmp_path / "manifest.csv", tmp_path / "labels.npz"])
    assert seen == [[], []]  # nothing in place while the stage runs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.npz", "manifest.csv"]


def test_temporaries_of_a_killed_run_are_swept(tmp_path):
    (tmp_path / ".welch.csv.a1b2.tmp").write_text("half")
    (tmp_path / ".other.csv.a1b2.tmp").write_text("someone else's")
    run_stage(lambda: None, outputs=[tmp_path / "welch.csv"])
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.csv.a1b2.tmp"]
