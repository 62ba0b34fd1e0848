"""The paper's Welch contrast: against scipy and hand formulas, planted effects with their sign, the right models
in each sample, NaN rows for tiny samples."""

import math

import numpy as np
import pytest
import scipy.stats

from lesion.contract import EFFECT_COLUMNS
from lesion.stats.significance import holm
from lesion.stats.welch import clean_tests, welch, welch_tests
from lesion.study import Study
from tests.fixtures.study import (CIFAR100_CLASSES, HELPS, HURTS, NULL, make_manifest, make_per_class,
                                  sampled_pairs)

PARAMS = {"alpha": 0.05, "bootstrap": 300, "seed": 0}


@pytest.fixture(scope="module")
def study():
    manifest = make_manifest(trials=3, clean_trials=4)
    return Study(manifest, make_per_class(manifest))


@pytest.fixture(scope="module")
def welch_table(study):
    return welch_tests(study, PARAMS).set_index(["target", "confused"])


def test_welch_matches_scipy_and_hand_formulas():
    rng = np.random.default_rng(3)
    a, b = rng.normal(0, 1, 7), rng.normal(0.8, 2, 12)
    row = welch(a, b, np.random.default_rng(0), 500)
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
    assert len(welch_table) == 90 and list(welch_table.reset_index().columns) == EFFECT_COLUMNS


def test_samples_are_the_right_models(study, welch_table):
    loglik = study.values("loglik_bits")
    pairs = study.manifest[["class_a", "class_b"]].agg(set, axis=1)
    a = loglik[[("truck" in p and "automobile" not in p) for p in pairs], 1]
    b = loglik[[study.swap[m] and not p & {"truck", "automobile"} for m, p in enumerate(pairs)], 1]
    expected = scipy.stats.ttest_ind(b, a, equal_var=False)
    assert welch_table.loc[HELPS].t == pytest.approx(expected.statistic)


def test_vs_clean_finds_the_clean_advantage(study):
    table = clean_tests(study, PARAMS)
    assert list(table.columns) == EFFECT_COLUMNS and (table.confused == "clean").all()
    assert (table.t > 0).all() and (table.n_b == 4).all() and (table.n_a == 36 * 3).all()


def test_too_small_samples_give_nan_rows():
    row = welch([1.0], [1.0, 2.0, 3.0], np.random.default_rng(0), 10)
    assert math.isnan(row["t"]) and math.isnan(row["p"]) and math.isnan(row["g_lo"]) and row["n_a"] == 1
    manifest = make_manifest(trials=2, clean_trials=2, pairs=[("cat", "dog"), ("bird", "frog"), ("ship", "truck")])
    table = welch_tests(Study(manifest, make_per_class(manifest)), PARAMS).set_index(["target", "confused"])
    assert len(table) == 90
    # airplane<-cat: A = the 2 (cat, dog) models, B = the 4 others; cat<-dog: A is empty.
    assert (table.loc[("airplane", "cat")].n_a, table.loc[("airplane", "cat")].n_b) == (2, 4)
    empty = table.loc[("cat", "dog")]
    assert empty.n_a == 0 and math.isnan(empty.t) and math.isnan(empty.p_fdr) and math.isnan(empty.p_holm)
    tested = table.p.notna()
    assert 0 < tested.sum() < 90 and table.p_fdr[tested].notna().all()
    np.testing.assert_allclose(table.p_holm[tested], holm(table.p[tested].to_numpy()))


def test_a_sampled_100_class_study_tests_the_cells_its_pairs_reach():
    """40 of 4,950 pairs: sample sizes counted from the pairs alone (A: pairs with C but not T, B: pairs with
    neither, 2 models each); only cells with two models in each sample get a test."""
    pairs = sampled_pairs(CIFAR100_CLASSES, 40)
    manifest = make_manifest(trials=2, clean_trials=3, pairs=pairs, classes=CIFAR100_CLASSES)
    study = Study(manifest, make_per_class(manifest, classes=CIFAR100_CLASSES, planted={}))
    table = welch_tests(study, dict(PARAMS, bootstrap=10))
    assert len(table) == 100 * 99
    for row in table.sample(300, random_state=0).itertuples():
        with_c = [pair for pair in pairs if row.confused in pair and row.target not in pair]
        neither = [pair for pair in pairs if not {row.target, row.confused} & set(pair)]
        assert (row.n_a, row.n_b) == (2 * len(with_c), 2 * len(neither))
    lesioned = {name for pair in pairs for name in pair}
    assert table[~table.confused.isin(lesioned)].t.isna().all() and table.t.notna().sum() == (table.n_a >= 2).sum()
    vs_clean = clean_tests(study, PARAMS).set_index("target")
    assert len(vs_clean) == 100 and (vs_clean.n_b == 3).all()
    assert vs_clean.n_a.to_dict() == {name: 2 * sum(name not in pair for pair in pairs) for name in CIFAR100_CLASSES}
