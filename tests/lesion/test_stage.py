"""The one error rule: a LesionError is one `error:` line, exit status 1 and no outputs left; a bug keeps its
traceback."""

import pytest

from lesion.errors import InputError
from lesion.stage import run_stage


def test_a_lesion_error_is_one_line_and_removes_the_outputs(tmp_path, capsys):
    output = tmp_path / "out"
    output.mkdir()
    (output / "half.csv").write_text("half")

    def main():
        raise InputError("data/x.csv is missing: run the earlier stages first (dvc repro corrupt)")

    with pytest.raises(SystemExit) as exit_:
        run_stage(main, outputs=[output, tmp_path / "never-made.json"])
    assert exit_.value.code == 1
    assert capsys.readouterr().err == "error: data/x.csv is missing: run the earlier stages first (dvc repro corrupt)\n"
    assert not output.exists()


def test_a_bug_is_not_dressed_up_as_a_user_error(tmp_path):
    (tmp_path / "kept").write_text("")

    def main():
        raise ZeroDivisionError("a bug")

    with pytest.raises(ZeroDivisionError):
        run_stage(main, outputs=[tmp_path / "kept"])
