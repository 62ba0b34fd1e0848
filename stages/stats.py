"""Stage `stats`: does learning class C help or hurt class T? Welch tests, effect sizes and divergences.

For a target T and another class C, compare T's test log-likelihood (bits) between swap models that corrupted C
(sample A: C in the swapped pair, T not) and swap models that corrupted neither (sample B). Both groups lost one
pair, so the difference isolates what learning C does for T: t = (mean B - mean A) / se is positive when learning C
helps T and negative when it hurts. Every p-value is adjusted over all tests (Benjamini-Hochberg and Holm), and the
bootstrap behind Hedges' g draws from a seed per test, so equal inputs give byte-identical outputs.
"""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.stats
from scipy.special import rel_entr

from stages.common import StageError, load_params, require, run_stage, save_csv, save_text
from stages.study import CONFUSION, load_study

METRICS = Path("metrics")
WELCH = METRICS / "welch.csv"
KL = METRICS / "kl.csv"
VS_CLEAN = METRICS / "vs_clean.csv"
SUMMARY = METRICS / "summary.json"
SIGNIFICANT = METRICS / "significant.md"
OUTPUTS = [WELCH, KL, VS_CLEAN, SUMMARY, SIGNIFICANT]
WELCH_COLUMNS = ["target", "confused", "t", "df", "p", "p_fdr", "p_holm", "g", "g_lo", "g_hi",
                 "mean_a", "mean_b", "n_a", "n_b"]
CLEAN = "clean"  # the `confused` entry of vs_clean.csv rows
SIX_DIGITS = "%.6g"  # floats of the git-tracked CSVs: short, stable diffs


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


def result_table(rows):
    """Rows of Welch results as a welch.csv-shaped table, with p-values adjusted over the table."""
    table = pd.DataFrame(rows)
    table["p_fdr"], table["p_holm"] = adjust(table.p, "bh"), adjust(table.p, "holm")
    return table[WELCH_COLUMNS]


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


def distribution(rows):
    """The mean of probability vectors, renormalized (float32 softmax sums drift from 1); None when no rows."""
    if len(rows) == 0:
        return None
    mean = rows.astype(float).mean(axis=0)
    return mean / mean.sum()


def kl_bits(p, q):
    """Kullback-Leibler divergence D(p || q) in bits."""
    return float(rel_entr(p, q).sum() / math.log(2))


def js_bits(p, q):
    """Jensen-Shannon divergence in bits (0 to 1)."""
    m = (np.asarray(p) + np.asarray(q)) / 2
    return (kl_bits(p, m) + kl_bits(q, m)) / 2


def divergences(study, mean_prob):
    """How the predictions on T's test images move when C is learned.

    P: mean predicted distribution on T's images over swap models that corrupted neither T nor C; Q: the same over
    all swap models that kept T, the ones that corrupted C included.
    """
    rows = []
    for t, target in enumerate(study.classes):
        q = distribution(mean_prob[study.pair_lacks(t), :, t])
        for c, confused in enumerate(study.classes):
            if c == t:
                continue
            p = distribution(mean_prob[study.pair_lacks(t, c), :, t])
            kl, js = (math.nan, math.nan) if p is None or q is None else (kl_bits(p, q), js_bits(p, q))
            rows.append(dict(target=target, confused=confused, kl_bits=kl, js_bits=js))
    return pd.DataFrame(rows)


def summarize(study, welch_table, kl_table, vs_clean, alpha):
    """Scalars for `dvc metrics diff` / `dvc exp show`; numbers stay numbers, an undefined one is null."""
    accuracy = study.values("accuracy").mean(axis=1)
    tested = welch_table.dropna(subset=["t"])
    significant = tested[tested.p_fdr < alpha]
    summary = dict(
        n_models=len(accuracy), n_clean=int(study.clean.sum()), n_swap=int(study.swap.sum()),
        clean_accuracy=accuracy[study.clean].mean(), swap_accuracy=accuracy[study.swap].mean(),
        alpha=alpha, n_tests=len(tested), n_significant_fdr=len(significant),
        n_significant_holm=int((tested.p_holm < alpha).sum()),
        n_positive_fdr=int((significant.t > 0).sum()), n_negative_fdr=int((significant.t < 0).sum()),
        n_classes_hurt_by_other_lesions=int(((vs_clean.p_fdr < alpha) & (vs_clean.t > 0)).sum()),
        mean_kl_bits=kl_table.kl_bits.mean(), max_kl_bits=kl_table.kl_bits.max(),
    )
    for sign, side in (("positive", tested[tested.t > 0]), ("negative", tested[tested.t < 0])):
        row = side.loc[side.t.abs().idxmax()] if len(side) else None
        summary[f"strongest_{sign}"] = None if row is None else f"{row.target}<-{row.confused}"
        summary[f"strongest_{sign}_t"] = None if row is None else row.t
    return {key: None if isinstance(value, float) and math.isnan(value) else value for key, value in summary.items()}


def significant_rows(welch_table, alpha):
    """The tests significant at FDR `alpha`, strongest help (largest t) first."""
    return welch_table[welch_table.p_fdr < alpha].sort_values("t", ascending=False, kind="stable")


def significant_markdown(welch_table, alpha):
    """The tests significant at FDR `alpha` as a Markdown table, strongest help first."""
    significant, tested = significant_rows(welch_table, alpha), int(welch_table.p.notna().sum())
    if significant.empty:
        return f"No test is significant at FDR {alpha:g} (of {tested} tests).\n"
    lines = [f"{len(significant)} of {tested} tests significant at FDR {alpha:g} (Benjamini-Hochberg); "
             "t > 0: learning `confused` helps `target`.", "",
             "| target | confused | t | p | p_fdr |", "| --- | --- | ---: | ---: | ---: |"]
    lines += [f"| {row.target} | {row.confused} | {row.t:.2f} | {row.p:.3g} | {row.p_fdr:.3g} |"
              for row in significant.itertuples()]
    return "\n".join(lines) + "\n"


def validate(params):
    if not isinstance(params["alpha"], float) or not 0 < params["alpha"] < 1:
        raise StageError(f"stats.alpha must be a number in (0, 1), got {params['alpha']!r}")
    for key, least in (("bootstrap", 1), ("seed", 0)):
        value = params[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise StageError(f"stats.{key} must be an integer of at least {least}, got {value!r}")


def load_mean_prob(study):
    require(CONFUSION, "evaluate")
    with np.load(CONFUSION) as confusion:
        mean_prob = confusion["mean_prob"]
    k = len(study.classes)
    if mean_prob.shape != (len(study.manifest), k, k):
        raise StageError(f"{CONFUSION} mean_prob has shape {mean_prob.shape}, expected "
                         f"{(len(study.manifest), k, k)}: rerun dvc repro evaluate")
    return mean_prob



def main():
    params = load_params("stats")
    validate(params)
    study = load_study()
    mean_prob = load_mean_prob(study)
    welch_table, vs_clean = welch_tests(study, params), clean_tests(study, params)
    kl_table = divergences(study, mean_prob)
    summary = summarize(study, welch_table, kl_table, vs_clean, params["alpha"])
    save_csv(WELCH, welch_table, SIX_DIGITS)
    save_csv(VS_CLEAN, vs_clean, SIX_DIGITS)
    save_csv(KL, kl_table, SIX_DIGITS)
    save_text(SUMMARY, json.dumps(summary, indent=2) + "\n")
    save_text(SIGNIFICANT, significant_markdown(welch_table, params["alpha"]))
    print(f"{summary['n_significant_fdr']} of {summary['n_tests']} tests significant at FDR {params['alpha']:g}; "
          f"wrote {', '.join(map(str, OUTPUTS))}")


if __name__ == "__main__":
    run_stage(main, outputs=OUTPUTS)
