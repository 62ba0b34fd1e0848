"""Multiple-testing adjustment and the significant rows of an effect table."""

import math

import numpy as np
import scipy.stats


def adjust(p, method):
    """Adjusted p-values ("bh" or "holm") over the finite entries of `p`; NaN entries stay NaN and don't count."""
    p = np.asarray(p, float)
    adjusted, finite = np.full_like(p, math.nan), np.isfinite(p)
    if finite.any():
        adjusted[finite] = (scipy.stats.false_discovery_control(p[finite], method="bh") if method == "bh"
                            else holm(p[finite]))
    return adjusted


def holm(p):
    """Holm's step-down adjustment: the i-th smallest of m p-values (i from 0) times (m - i), made monotone,
    capped at 1."""
    order = np.argsort(p, kind="stable")
    steps = np.maximum.accumulate((len(p) - np.arange(len(p))) * p[order])
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(steps, 1.0)
    return adjusted


def significant_rows(welch_table, alpha):
    """The tests significant at FDR `alpha`, strongest help (largest t) first."""
    return welch_table[welch_table.p_fdr < alpha].sort_values("t", ascending=False, kind="stable")
