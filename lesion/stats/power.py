"""The study's power: how many models each test compares, and the smallest effect it could detect.

An empty list of significant effects means "no effect" only when the study could have found one. This module
states, from the stats tables alone, the models per Welch test and the smallest standardized difference (Cohen's
d, in SDs of the target's log-likelihood) that a two-sided test at the study's alpha detects with 80% power
(statsmodels' TTestIndPower, the equal-variance t-test, which Welch's test approaches), converted to bits with the
observed pooled SD of the tested samples. alpha is the per-test level, before the FDR adjustment, so the real
smallest detectable effect is larger still. It computes nothing the stats stage reports and changes none of it.
"""

import numpy as np
import scipy.stats
from statsmodels.stats.power import TTestIndPower

POWER = 0.8
SMOKE_MODELS = 10  # fewer models than this in a typical test's smaller sample: a smoke test, not a study


def pooled_sd(welch_table):
    """Each tested row's pooled SD of the target's log-likelihood (bits), recovered from Hedges' g: NaN where g is
    undefined or 0 (welch.hedges_g: g = (mean_b - mean_a) / pooled * J, J = 1 - 3 / (4 (n_a + n_b) - 9))."""
    n = welch_table.n_a + welch_table.n_b
    correction = 1 - 3 / (4 * n - 9)
    g = welch_table.g.where(welch_table.g != 0)
    return (welch_table.mean_b - welch_table.mean_a) * correction / g


def detectable_d(n_a, n_b, alpha, power=POWER):
    """The smallest |d| a two-sided two-sample t-test of n_a and n_b models detects at `alpha` with `power`."""
    return float(TTestIndPower().solve_power(effect_size=None, nobs1=n_a, ratio=n_b / n_a, alpha=alpha, power=power,
                                             alternative="two-sided"))


def study_power(welch_table, effects, n_clean, trials_per_pair, alpha):
    """The power of the study's tests as a dict (JSON-ready: numbers or None).

    n_a, n_b: the median sample sizes of the testable Welch tests (lesioned / neither class lesioned); d: the
    smallest detectable d at those sizes; sd_bits: the median pooled SD over the tested rows; bits: d * sd_bits;
    specific_bits: the same for the lesion model's specific effects, (t_{1-alpha/2} + t_{power}) * median SE at the
    median df; smoke: whether a typical test or the clean baseline has fewer than SMOKE_MODELS models.
    """
    tested = welch_table.dropna(subset=["t"])
    power = dict(alpha=alpha, power=POWER, n_clean=int(n_clean), trials_per_pair=trials_per_pair,
                 n_tests=len(tested), n_a=None, n_b=None, d=None, sd_bits=None, bits=None,
                 n_specific_tests=int(effects.specific_se.notna().sum()), specific_se_bits=None,
                 specific_bits=None)
    if len(tested):
        n_a, n_b = (whole(float(tested[column].median())) for column in ("n_a", "n_b"))
        power.update(n_a=n_a, n_b=n_b, d=detectable_d(n_a, n_b, alpha))
        sd = pooled_sd(tested).dropna()
        if len(sd):
            power.update(sd_bits=float(sd.median()), bits=power["d"] * float(sd.median()))
    specific = effects.dropna(subset=["specific_se", "specific_df"])
    if len(specific):
        se, df = float(specific.specific_se.median()), float(specific.specific_df.median())
        factor = scipy.stats.t.ppf(1 - alpha / 2, df) + scipy.stats.t.ppf(POWER, df)
        power.update(specific_se_bits=se, specific_bits=float(factor * se))
    groups = {"clean models": int(n_clean), "models that lost the confused class in a typical Welch test":
              power["n_a"] or 0, "models that lost neither class in a typical Welch test": power["n_b"] or 0}
    name = min(groups, key=groups.get)
    power["smallest_group"] = f"{counts(groups[name])} {name}"
    power["smoke"] = bool(groups[name] < SMOKE_MODELS)
    return power


def whole(n):
    """A median count: an int where it is one (3, not 3.0), else the float."""
    return int(n) if float(n).is_integer() else n


def counts(n):
    """A median sample size as text."""
    return f"{whole(n):g}"


def power_sentences(power):
    """The power statement as plain sentences: (statement, warning or None)."""
    per_pair = (f"{power['trials_per_pair']} swap models per pair" if power["trials_per_pair"] is not None
                else "no swap models")
    parts = [f"Models per test: {power['n_clean']} clean models and {per_pair}."]
    if power["d"] is None:
        parts.append("No Welch test has two models in each sample, so this study can detect no effect at all.")
    else:
        bits = ("" if power["bits"] is None else
                f", about {power['bits']:.3g} bits at the observed pooled SD of {power['sd_bits']:.3g} bits")
        parts.append(
            f"A typical Welch test compares {counts(power['n_a'])} models that lost the confused class with "
            f"{counts(power['n_b'])} that lost neither class ({power['n_tests']} tests are testable); at alpha "
            f"{power['alpha']:g} (before the FDR adjustment) it detects, with {power['power']:.0%} power, only a "
            f"difference of at least {power['d']:.2f} standard deviations{bits}.")
    if power["specific_bits"] is None:
        parts.append("The design identifies no specific lesion effect: a swapped pair shows only the sum of its two "
                     "classes' effects, and one class's effect comes apart only where the pairs close a cycle of odd "
                     "length (a/b, b/c, a/c).")
    else:
        parts.append(f"A specific lesion effect needs about {power['specific_bits']:.3g} bits to be detected with "
                     f"{power['power']:.0%} power (median SE {power['specific_se_bits']:.3g} bits, "
                     f"{power['n_specific_tests']} effects identified).")
    warning = None
    if power["smoke"]:
        warning = (f"This is a smoke test, not a study: it has only {power['smallest_group']} (fewer than "
                   f"{SMOKE_MODELS} models per group), so only very large effects could be detected and an empty "
                   "table of significant effects here means no power, not no effect. Train more models "
                   "(corrupt.trials, corrupt.clean_trials; on a GPU) for the study itself.")
    return " ".join(parts), warning


def trials_per_pair(manifest):
    """The median number of swap models per swapped pair (None without swap models)."""
    swap = manifest[manifest.kind == "swap"]
    if swap.empty:
        return None
    sizes = swap.groupby(["class_a", "class_b"]).size()
    return whole(float(np.median(sizes)))
