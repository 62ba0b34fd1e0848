"""The paper's contrast: Welch t-tests of a target's log-likelihood between two groups of models, with Hedges' g.

For a target T and another class C, sample A is T's test log-likelihood (bits) in swap models whose pair contains
C but not T, sample B in swap models whose pair contains neither; t = (mean B - mean A) / se. Every p-value is
adjusted over all tests (Benjamini-Hochberg and Holm), and the bootstrap behind Hedges' g draws from a seed per
test, so equal inputs give byte-identical outputs.
"""

import math

import numpy as np
import pandas as pd
import scipy.stats

from lesion.contract import EFFECT_COLUMNS
from lesion.stats.significance import adjust

CLEAN = "clean"  # the `confused` entry of vs_clean.csv rows


def hedges_g(a, b):
    """Hedges' g of mean(b) - mean(a) along the last axis (pooled SD, small-sample corrected).

    NaN where the pooled SD is 0 (a bootstrap resample of tiny samples can repeat one value), so the interval
    skips those resamples instead of being torn to infinity.
    """
    n_a, n_b = a.shape[-1], b.shape[-1]
    pooled = np.sqrt(((n_a - 1) * a.var(axis=-1, ddof=1) + (n_b - 1) * b.var(axis=-1, ddof=1)) / (n_a + n_b - 2))
    pooled = np.where(pooled > 0, pooled, np.nan)
    return (b.mean(axis=-1) - a.mean(axis=-1)) / pooled * (1 - 3 / (4 * (n_a + n_b) - 9))


def welch(a, b, rng, bootstrap):
    """Welch's t-test of mean(b) - mean(a), and Hedges' g with a percentile bootstrap 95% interval.

    With fewer than two values in a sample, or no spread at all, the test is undefined: its numbers are NaN.
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    n_a, n_b = len(a), len(b)
    row = dict.fromkeys(["t", "df", "p", "g", "g_lo", "g_hi"], math.nan)
    row.update(mean_a=a.mean() if n_a else math.nan, mean_b=b.mean() if n_b else math.nan, n_a=n_a, n_b=n_b)
    if min(n_a, n_b) < 2:
        return row
    var_a, var_b = a.var(ddof=1) / n_a, b.var(ddof=1) / n_b
    if var_a + var_b == 0:
        return row
    t = (row["mean_b"] - row["mean_a"]) / math.sqrt(var_a + var_b)
    df = (var_a + var_b) ** 2 / (var_a**2 / (n_a - 1) + var_b**2 / (n_b - 1))
    resampled = hedges_g(a[rng.integers(n_a, size=(bootstrap, n_a))], b[rng.integers(n_b, size=(bootstrap, n_b))])
    g_lo, g_hi = np.nanpercentile(resampled, [2.5, 97.5])
    row.update(t=t, df=df, p=2 * scipy.stats.t.sf(abs(t), df), g=float(hedges_g(a, b)), g_lo=g_lo, g_hi=g_hi)
    return row


def result_table(rows):
    """Rows of Welch results as a welch.csv-shaped table, with p-values adjusted over the table."""
    table = pd.DataFrame(rows)
    table["p_fdr"], table["p_holm"] = adjust(table.p, "bh"), adjust(table.p, "holm")
    return table[EFFECT_COLUMNS]


def pair_rng(seed, target, confused):
    """The bootstrap's generator for one test: from (seed, target, confused) alone, confused -1 for clean."""
    return np.random.default_rng([seed, target + 1, confused + 1])


def welch_tests(study, params):
    """T's log-likelihood: swap models that corrupted C (A) against swap models that corrupted neither (B)."""
    loglik, names, rows = study.values("loglik_bits"), study.classes, []
    for t, target in enumerate(names):
        for c, confused in enumerate(names):
            if c == t:
                continue
            lesioned = study.in_pair[:, c] & study.pair_lacks(t)
            rng = pair_rng(params["seed"], t, c)
            result = welch(loglik[lesioned, t], loglik[study.pair_lacks(t, c), t], rng, params["bootstrap"])
            rows.append(dict(target=target, confused=confused, **result))
    return result_table(rows)


def clean_tests(study, params):
    """T's log-likelihood: swap models whose pair lacks T (A) against clean models (B).

    Positive t: a network that learned every class does better on T than one that lost some other pair, so the
    lesions spill over; the swaps that contain T itself are left out, their damage is direct, not spill-over.
    """
    loglik, rows = study.values("loglik_bits"), []
    for t, target in enumerate(study.classes):
        rng = pair_rng(params["seed"], t, -1)
        result = welch(loglik[study.pair_lacks(t), t], loglik[study.clean, t], rng, params["bootstrap"])
        rows.append(dict(target=target, confused=CLEAN, **result))
    return result_table(rows)
