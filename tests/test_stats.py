"""Stage `stats`: Welch tests against scipy, planted effects found with the right sign, adjustments and
divergences against hand-computed values, NaN rows for tiny samples, the summary, byte-reproducible outputs."""

import json
import math

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from stages import stats
from stages.study import Study
from tests.study_fixture import HELPS, HURTS, NULL, make_manifest, make_mean_prob, make_per_class, write_study
from tests.conftest import run_module, write_params

PARAMS = {"alpha": 0.05, "bootstrap": 300, "seed": 0}


@pytest.fixture(scope="module")
def study():
    manifest = make_manifest(trials=3, clean_trials=4)
    return Study(manifest, make_per_class(manifest))


@pytest.fixture(scope="module")
def welch_table(study):
    return stats.welch_tests(study, PARAMS).set_index(["target", "confused"])


def test_welch_matches_scipy_and_hand_formulas():
    rng = np.random.default_rng(3)
    a, b = rng.normal(0, 1, 7), rng.normal(0.8, 2, 12)
    row = stats.welch(a, b, np.random.default_rng(0), 500)
    expected = scipy.stats.ttest_ind(b, a, equal_var=False)
    assert row["t"] == pytest.approx(expected.statistic, rel=1e-12)
    assert row["p"] == pytest.approx(expected.pvalue, rel=1e-10)
    assert row["df"] == pytest.approx(expected.df, rel=1e-12)
    pooled = math.sqrt((6 * a.var(ddof=1) + 11 * b.var(ddof=1)) / 17)
    assert row["g"] == pytest.approx((b.mean() - a.mean()) / pooled * (1 - 3 / (4 * 19 - 9)))
    assert row["g_lo"] < row["g"] < row["g_hi"]
    assert (row["mean_a"], row["mean_b"], row["n_a"], row["n_b"]) == (a.mean(), b.mean(), 7, 12)


def test_planted_effects_significant_with_their_sign_null_not(welch_table):
    helps, hurts, null = welch_table.loc[HELPS], welch_table.loc[HURTS], welch_table.loc[NULL]
    assert helps.t > 5 and helps.p_fdr < 1e-6 and helps.p_holm < 1e-6 and helps.g_lo > 0
    assert hurts.t < -5 and hurts.p_fdr < 1e-6 and hurts.g_hi < 0
    assert null.p_fdr > 0.05 and null.g_lo < 0 < null.g_hi
    # A: pairs with truck but not automobile (8 pairs); B: pairs with neither (28 pairs); 3 trials each.
    assert (helps.n_a, helps.n_b) == (24, 84)
    assert helps.mean_b - helps.mean_a == pytest.approx(0.1, abs=0.02)
    assert len(welch_table) == 90 and list(welch_table.reset_index().columns) == stats.WELCH_COLUMNS


def test_samples_are_the_right_models(study, welch_table):
    loglik = study.values("loglik_bits")
    pairs = study.manifest[["class_a", "class_b"]].agg(set, axis=1)
    a = loglik[[("truck" in p and "automobile" not in p) for p in pairs], 1]
    b = loglik[[study.swap[m] and not p & {"truck", "automobile"} for m, p in enumerate(pairs)], 1]
    expected = scipy.stats.ttest_ind(b, a, equal_var=False)
    assert welch_table.loc[HELPS].t == pytest.approx(expected.statistic)


def test_vs_clean_finds_the_clean_advantage(study):
    table = stats.clean_tests(study, PARAMS)
    assert list(table.columns) == stats.WELCH_COLUMNS and (table.confused == "clean").all()
    assert (table.t > 0).all() and (table.n_b == 4).all() and (table.n_a == 36 * 3).all()


def test_holm_and_bh_hand_computed():
    p = [0.01, 0.04, np.nan, 0.03, 0.005]
    # sorted 0.005, 0.01, 0.03, 0.04 over m = 4 finite tests; the NaN is not counted.
    # Holm: x4, x3, x2, x1 = 0.02, 0.03, 0.06, 0.04 -> running max 0.02, 0.03, 0.06, 0.06
    np.testing.assert_allclose(stats.adjust(p, "holm"), [0.03, 0.06, np.nan, 0.06, 0.02])
    # BH: x4/1, x4/2, x4/3, x4/4 = 0.02, 0.02, 0.04, 0.04 -> running min from the top, unchanged
    np.testing.assert_allclose(stats.adjust(p, "bh"), [0.02, 0.04, np.nan, 0.04, 0.02])
    np.testing.assert_allclose(stats.adjust([0.5, 0.9], "holm"), [1.0, 1.0])
    assert np.isnan(stats.adjust([np.nan], "bh")).all()


def test_too_small_samples_give_nan_rows():
    row = stats.welch([1.0], [1.0, 2.0, 3.0], np.random.default_rng(0), 10)
    assert math.isnan(row["t"]) and math.isnan(row["p"]) and math.isnan(row["g_lo"]) and row["n_a"] == 1
    manifest = make_manifest(trials=2, clean_trials=2, pairs=[("cat", "dog"), ("bird", "frog"), ("ship", "truck")])
    table = stats.welch_tests(Study(manifest, make_per_class(manifest)), PARAMS).set_index(["target", "confused"])
    assert len(table) == 90
    # airplane<-cat: A = the 2 (cat, dog) models, B = the 4 others; cat<-dog: A is empty.
    assert (table.loc[("airplane", "cat")].n_a, table.loc[("airplane", "cat")].n_b) == (2, 4)
    empty = table.loc[("cat", "dog")]
    assert empty.n_a == 0 and math.isnan(empty.t) and math.isnan(empty.p_fdr) and math.isnan(empty.p_holm)
    tested = table.p.notna()
    assert 0 < tested.sum() < 90 and table.p_fdr[tested].notna().all()
    np.testing.assert_allclose(table.p_holm[tested], stats.holm(table.p[tested].to_numpy()))


def test_kl_and_js_hand_computed():
    # D([1/2, 1/2] || [1/4, 3/4]) = 1/2 log2(2) + 1/2 log2(2/3)
    assert stats.kl_bits([0.5, 0.5], [0.25, 0.75]) == pytest.approx(0.5 + 0.5 * math.log2(2 / 3))
    assert stats.kl_bits([0.3, 0.7], [0.3, 0.7]) == 0
    assert stats.js_bits([1.0, 0.0], [0.0, 1.0]) == pytest.approx(1.0)
    # M = [3/8, 5/8]: JS = 1/2 (1/2 log2(4/3) + 1/2 log2(4/5)) + 1/2 (1/4 log2(2/3) + 3/4 log2(6/5))
    expected = 0.25 * math.log2(4 / 3) + 0.25 * math.log2(4 / 5) + 0.125 * math.log2(2 / 3) + 0.375 * math.log2(1.2)
    assert stats.js_bits([0.5, 0.5], [0.25, 0.75]) == pytest.approx(expected)


def test_divergences_use_the_right_models():
    manifest = make_manifest(trials=2, clean_trials=2, pairs=[("cat", "dog"), ("bird", "frog"), ("ship", "truck")])
    mean_prob = make_mean_prob(manifest)
    table = stats.divergences(Study(manifest, make_per_class(manifest)), mean_prob).set_index(["target", "confused"])
    # target airplane (0), confused cat: P over (bird, frog) and (ship, truck) models, Q over all six swap models.
    p = mean_prob[4:8, :, 0].astype(float).mean(axis=0)
    q = mean_prob[2:8, :, 0].astype(float).mean(axis=0)
    row = table.loc[("airplane", "cat")]
    assert row.kl_bits == pytest.approx(stats.kl_bits(p / p.sum(), q / q.sum()))
    assert row.js_bits == pytest.approx(stats.js_bits(p / p.sum(), q / q.sum()))
    assert 0 < row.kl_bits and 0 < row.js_bits < 1
    # With (cat, dog) the only pair, every swap model that kept airplane lost cat: P is undefined.
    manifest = make_manifest(trials=2, clean_trials=2, pairs=[("cat", "dog")])
    only = stats.divergences(Study(manifest, make_per_class(manifest)), make_mean_prob(manifest))
    row = only.set_index(["target", "confused"]).loc[("airplane", "cat")]
    assert math.isnan(row.kl_bits) and math.isnan(row.js_bits)


@pytest.fixture
def stats_project(project):
    write_study(project, training=False, vis=False)
    write_params(project, stats=PARAMS)
    return project


def test_cli_outputs_summary_and_reproducibility(stats_project):
    run_module(stats_project, "stats", check=True)
    first = {path: (stats_project / path).read_bytes() for path in stats.OUTPUTS}
    summary = json.loads(first[stats.SUMMARY])
    numeric = ["n_models", "n_clean", "n_swap", "clean_accuracy", "swap_accuracy", "alpha", "n_tests",
               "n_significant_fdr", "n_significant_holm", "n_positive_fdr", "n_negative_fdr",
               "n_classes_hurt_by_other_lesions", "mean_kl_bits", "max_kl_bits", "strongest_positive_t",
               "strongest_negative_t"]
    assert all(isinstance(summary[key], (int, float)) and not isinstance(summary[key], bool) for key in numeric)
    assert summary["strongest_positive"] == "automobile<-truck" and summary["strongest_negative"] == "dog<-cat"
    assert (summary["n_models"], summary["n_tests"], summary["n_positive_fdr"], summary["n_negative_fdr"]) == (
        4 + 45 * 3, 90, 1, 1)
    assert summary["clean_accuracy"] > summary["swap_accuracy"]
    markdown = first[stats.SIGNIFICANT].decode().splitlines()
    assert markdown[2:4] == ["| target | confused | t | p | p_fdr |", "| --- | --- | ---: | ---: | ---: |"]
    assert markdown[4].startswith("| automobile | truck | ") and markdown[5].startswith("| dog | cat | -")
    welch = pd.read_csv(stats_project / stats.WELCH)
    assert list(welch.columns) == stats.WELCH_COLUMNS and len(welch) == 90
    assert list(pd.read_csv(stats_project / stats.KL).columns) == ["target", "confused", "kl_bits", "js_bits"]

    run_module(stats_project, "stats", check=True)
    assert first == {path: (stats_project / path).read_bytes() for path in stats.OUTPUTS}


def test_cli_missing_input_names_it_and_leaves_nothing(stats_project):
    run_module(stats_project, "stats", check=True)
    (stats_project / "data/eval/per_class.csv").unlink()
    result = run_module(stats_project, "stats")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: data/eval/per_class.csv is missing: run the earlier stages first (dvc repro evaluate)"]
    assert not any((stats_project / path).exists() for path in stats.OUTPUTS)


def test_cli_bad_param(stats_project):
    write_params(stats_project, stats=dict(PARAMS, alpha=2.0))
    result = run_module(stats_project, "stats")
    assert result.returncode == 1 and "stats.alpha must be a number in (0, 1), got 2.0" in result.stderr
