"""Stage `stats`: the summary metrics, significant.md, byte-reproducible outputs; bad inputs are one error line."""

import json

import pandas as pd
import pytest

from lesion import contract
from stages.stats import OUTPUTS
from tests.conftest import run_module, write_params
from tests.fixtures.study import write_study

PARAMS = {"alpha": 0.05, "bootstrap": 300, "null_draws": 300, "permutations": 100, "seed": 0}


@pytest.fixture
def stats_project(project):
    write_study(project, training=False, vis=False)
    write_params(project, stats=PARAMS)
    return project


def test_cli_outputs_summary_and_reproducibility(stats_project):
    run_module(stats_project, "stats", check=True)
    first = {path: (stats_project / path).read_bytes() for path in OUTPUTS}
    summary = json.loads(first[contract.SUMMARY])
    numeric = ["n_clean", "n_swap", "alpha", "n_tests", "n_significant_fdr", "mean_kl_bits", "max_kl_bits",
               "strongest_positive_t", "strongest_negative_t", "n_effect_fdr", "n_specific_fdr", "n_contrast_fdr",
               "n_interactions_fdr", "strongest_specific_bits", "lack_of_fit_p"]
    assert all(isinstance(summary[key], (int, float)) and not isinstance(summary[key], bool) for key in numeric)
    assert summary["strongest_positive"] == "automobile<-truck" and summary["strongest_negative"] == "dog<-cat"
    assert (summary["n_clean"], summary["n_swap"], summary["n_tests"]) == (4, 45 * 3, 90)
    assert summary["n_significant_fdr"] == 2  # the two planted effects, one each way
    assert len(summary) == len(numeric) + 4  # lean: besides the numbers, three effect names and the inference
    evaluation = json.loads((stats_project / contract.EVAL_METRICS).read_text())
    assert not set(summary) & set(evaluation)  # each metric is written by one stage, once
    assert (summary["n_specific_fdr"], summary["strongest_specific"], summary["inference"]) == (
        2, "automobile<-truck", "additive")
    markdown = first[contract.SIGNIFICANT].decode().splitlines()
    assert markdown[0] == "## Specific lesion effects" and markdown[2].startswith("2 of 90 specific effects")
    assert markdown[4] == "| target | confused | specific bits | 95% CI | effect bits (vs clean) | p_fdr |"
    assert markdown[6].startswith("| automobile | truck | +0.") and markdown[7].startswith("| dog | cat | -0.")
    welch_part = markdown[markdown.index("## The paper's Welch contrast"):]
    assert welch_part[4] == "| target | confused | t | p | p_fdr |"
    assert welch_part[6].startswith("| automobile | truck | ") and welch_part[7].startswith("| dog | cat | -")
    effects = pd.read_csv(stats_project / contract.LESION_EFFECTS)
    assert list(effects.columns) == contract.LESION_EFFECT_COLUMNS and len(effects) == 90
    rows = pd.read_csv(stats_project / contract.LESION_ROWS)
    assert list(rows.columns) == contract.LESION_ROW_COLUMNS and len(rows) == 10
    # each row's design: the 4 clean models and the 3 of each of the 36 pairs without the target, 9 indicators, all
    # identified (every pair lesioned)
    assert (rows[["n_models", "n_indicators", "n_identified"]] == [4 + 36 * 3, 9, 9]).all().all()
    welch = pd.read_csv(stats_project / contract.WELCH)
    assert list(welch.columns) == contract.EFFECT_COLUMNS and len(welch) == 90
    assert list(pd.read_csv(stats_project / contract.KL).columns) == contract.KL_COLUMNS

    run_module(stats_project, "stats", check=True)
    assert first == {path: (stats_project / path).read_bytes() for path in OUTPUTS}


def test_cli_missing_input_names_it_and_leaves_nothing(stats_project):
    for path in OUTPUTS:  # stale outputs of an earlier run
        (stats_project / path).write_text("stale")
    (stats_project / "data/eval/per_class.csv").unlink()
    result = run_module(stats_project, "stats")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: data/eval/per_class.csv is missing: run the earlier stages first (dvc repro evaluate)"]
    assert not any((stats_project / path).exists() for path in OUTPUTS)


def test_cli_bad_param(stats_project):
    write_params(stats_project, stats=dict(PARAMS, alpha=2.0))
    result = run_module(stats_project, "stats")
    assert result.returncode == 1 and "stats.alpha must be a number in (0, 1), got 2.0" in result.stderr
