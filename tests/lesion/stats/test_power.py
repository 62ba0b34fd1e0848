"""The study's power: the smallest detectable effect against an independent computation (the noncentral t, solved
with scipy), the pooled SD against the samples themselves, and the smoke-test warning."""

import numpy as np
import pandas as pd
import pytest
import scipy.integrate
import scipy.optimize
import scipy.stats

from lesion.stats.power import SMOKE_MODELS, detectable_d, power_sentences, study_power, trials_per_pair
from lesion.stats.welch import welch_tests
from tests.fixtures.study import make_manifest, planted_study

STATS = {"seed": 0, "bootstrap": 20}


def noncentral_d(n_a, n_b, alpha, power=0.8):
    """The d at which a two-sided two-sample t-test (df n_a + n_b - 2) has `power`: the noncentral t written out,
    T = (Z + shift) / sqrt(V / df) with V ~ chi2(df), its rejection probability integrated over V."""
    df = n_a + n_b - 2
    critical = scipy.stats.t.ppf(1 - alpha / 2, df)

    def rejects(shift):
        def given(v):
            scale = critical * np.sqrt(v / df)
            tails = scipy.stats.norm.sf(scale - shift) + scipy.stats.norm.cdf(-scale - shift)
            return tails * scipy.stats.chi2.pdf(v, df)
        low, high = scipy.stats.chi2.ppf([1e-12, 1 - 1e-12], df)  # where V's density lies
        return scipy.integrate.quad(given, low, high, limit=200)[0]

    return scipy.optimize.brentq(lambda d: rejects(d * np.sqrt(n_a * n_b / (n_a + n_b))) - power, 1e-3, 10)


@pytest.mark.parametrize("n_a, n_b, alpha", [(3, 3, 0.05), (24, 84, 0.05), (400, 1400, 0.01), (5, 12, 0.1)])
def test_detectable_d_matches_the_noncentral_t(n_a, n_b, alpha):
    assert detectable_d(n_a, n_b, alpha) == pytest.approx(noncentral_d(n_a, n_b, alpha), rel=1e-4)


def test_three_against_three_needs_about_three_sds():
    assert detectable_d(3, 3, 0.05) == pytest.approx(3.07, abs=0.01)


def test_study_power_of_a_planted_study():
    study = planted_study(np.zeros((10, 10)), trials=3, clean_trials=4, sd=0.05)
    welch = welch_tests(study, STATS)
    effects = pd.DataFrame({"specific_se": [0.01, 0.02, 0.03, np.nan], "specific_df": [20.0, 20, 20, np.nan]})
    power = study_power(welch, effects, study.clean.sum(), trials_per_pair(study.manifest), 0.05)
    assert (power["n_clean"], power["trials_per_pair"], power["n_a"], power["n_b"]) == (4, 3, 24, 84)
    assert power["d"] == pytest.approx(noncentral_d(24, 84, 0.05), rel=1e-4)
    # the pooled SD of each test's two samples, computed from the log-likelihoods themselves
    loglik, sds = study.values("loglik_bits"), []
    for t in range(10):
        for c in range(10):
            if c != t:
                a = loglik[study.in_pair[:, c] & study.pair_lacks(t), t]
                b = loglik[study.pair_lacks(t, c), t]
                sds.append(np.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1))
                                   / (len(a) + len(b) - 2)))
    assert power["sd_bits"] == pytest.approx(np.median(sds), rel=1e-4)
    assert power["sd_bits"] == pytest.approx(0.05, rel=0.15)  # the planted noise
    assert power["bits"] == pytest.approx(power["d"] * np.median(sds), rel=1e-4)
    factor = scipy.stats.t.ppf(0.975, 20) + scipy.stats.t.ppf(0.8, 20)
    assert (power["n_specific_tests"], power["specific_se_bits"]) == (3, 0.02)
    assert power["specific_bits"] == pytest.approx(factor * 0.02)
    assert power["smoke"] and power["smallest_group"] == "4 clean models"
    statement, warning = power_sentences(power)
    assert statement.startswith("Models per test: 4 clean models and 3 swap models per pair. A typical Welch test "
                                "compares 24 models that lost the confused class with 84 that lost neither class")
    assert f"at least {power['d']:.2f} standard deviations, about {power['bits']:.3g} bits" in statement
    assert warning.startswith("This is a smoke test, not a study: it has only 4 clean models")
    assert "no power, not no effect" in warning


def test_a_full_study_is_no_smoke_test():
    n_a, n_b = 8 * 50, 28 * 50
    welch = pd.DataFrame({"t": [1.0, 2.0], "n_a": [n_a, n_a], "n_b": [n_b, n_b], "g": [0.1, 0.2],
                          "mean_a": [0.0, 0.0], "mean_b": [0.1, 0.2]})
    effects = pd.DataFrame({"specific_se": [np.nan], "specific_df": [np.nan]})
    power = study_power(welch, effects, 50, 50, 0.05)
    assert not power["smoke"] and power["d"] == pytest.approx(noncentral_d(n_a, n_b, 0.05), rel=1e-4)
    assert power["d"] < 0.2 and SMOKE_MODELS <= 50
    correction = 1 - 3 / (4 * (n_a + n_b) - 9)
    assert power["sd_bits"] == pytest.approx(correction)  # (mean_b - mean_a) * J / g = J for both rows
    statement, warning = power_sentences(power)
    assert warning is None and "identifies no specific lesion effect" in statement


def test_no_testable_welch_test_says_no_power():
    welch = pd.DataFrame({"t": [np.nan], "n_a": [0], "n_b": [3], "g": [np.nan], "mean_a": [np.nan],
                          "mean_b": [0.0]})
    effects = pd.DataFrame({"specific_se": [np.nan], "specific_df": [np.nan]})
    manifest = make_manifest(trials=3, clean_trials=3, pairs=[("cat", "dog")])
    power = study_power(welch, effects, 3, trials_per_pair(manifest), 0.05)
    statement, warning = power_sentences(power)
    assert power["d"] is None and "can detect no effect at all" in statement and warning is not None
