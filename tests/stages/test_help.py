"""Every stage answers --help with what it reads, writes and its params, from dvc.yaml, and runs nothing."""

import pytest
import yaml

from lesion import params
from lesion.usage import declared_params, paths
from tests.conftest import REPO, run_module

PIPELINE = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]


@pytest.mark.parametrize("stage", list(PIPELINE))
def test_help_lists_the_stage_outputs_and_params_and_runs_nothing(project, stage):
    before = sorted(project.rglob("*"))
    result = run_module(project, stage, "--help")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    spec = PIPELINE[stage]
    written = text.split("writes:\n")[1].split("\nparams")[0].split("\n")
    assert [line.strip() for line in written] == paths(spec.get("outs")) + paths(spec.get("metrics"))
    for entry in declared_params(spec.get("params")):
        section, _, key = entry.partition(".")
        for name, (_, meaning) in params.SCHEMA[section].items():
            if key in ("", name):
                assert f"{section}.{name} = " in text and meaning in text
    assert sorted(project.rglob("*")) == before


def test_a_stray_argument_is_one_error_line_and_runs_nothing(project):
    before = sorted(project.rglob("*"))
    result = run_module(project, "corrupt", "--trials=3")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: stages.corrupt takes no arguments but --help (got --trials=3): set its params in params.yaml or "
        "run dvc exp run -S key=value"]
    assert sorted(project.rglob("*")) == before
