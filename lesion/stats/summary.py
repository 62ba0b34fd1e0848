"""The stats stage's scalars for `dvc metrics diff` and its Markdown list of significant effects."""

import math

import numpy as np

from lesion.stats.power import power_sentences
from lesion.stats.significance import significant_rows


def summarize(study, welch_table, kl_table, alpha):
    """Scalars for `dvc metrics diff` / `dvc exp show`, kept lean (one column per question a reader compares
    across experiments); numbers stay numbers, an undefined one is null.

    Accuracies are eval.json's (the evaluate stage's) and the tables hold the rest; nothing is written twice.
    """
    tested = welch_table.dropna(subset=["t"])
    summary = dict(
        n_clean=int(study.clean.sum()), n_swap=int(study.swap.sum()), alpha=alpha, n_tests=len(tested),
        n_significant_fdr=int((tested.p_fdr < alpha).sum()), mean_kl_bits=kl_table.kl_bits.mean(),
        max_kl_bits=kl_table.kl_bits.max(),
    )
    for sign, side in (("positive", tested[tested.t > 0]), ("negative", tested[tested.t < 0])):
        row = side.loc[side.t.abs().idxmax()] if len(side) else None
        summary[f"strongest_{sign}"] = None if row is None else f"{row.target}<-{row.confused}"
        summary[f"strongest_{sign}_t"] = None if row is None else row.t
    return json_ready(summary)


def json_ready(values):
    """Numbers stay numbers (numpy scalars become Python's), an undefined one is null."""
    ready = {}
    for key, value in values.items():
        if isinstance(value, np.generic):
            value = value.item()
        ready[key] = None if isinstance(value, float) and math.isnan(value) else value
    return ready


def lesion_summary(effects, interactions, pooled, alpha):
    """The lesion model's scalars: significant effects per family, the pooled lack of fit and the inference."""
    summary = {f"n_{family}_fdr": int((effects[f"{family}_p_fdr"] < alpha).sum())
               for family in ("effect", "specific", "contrast")}
    summary["n_interactions_fdr"] = int((interactions.p_fdr < alpha).sum())
    tested = effects.dropna(subset=["specific_t"])
    strongest = tested.loc[tested.specific_t.abs().idxmax()] if len(tested) else None
    summary["strongest_specific"] = None if strongest is None else f"{strongest.target}<-{strongest.confused}"
    summary["strongest_specific_bits"] = None if strongest is None else strongest.specific_bits
    summary.update(pooled)
    return json_ready(summary)


def significant_markdown(welch_table, effects, alpha, power=None):
    """significant.md: the specific effects significant at FDR `alpha` with their 95% intervals in bits, the study's
    power (`power`: lesion.stats.power.study_power, left out when None), then the paper's Welch contrast; strongest
    help first in each."""
    specific = effects[effects.specific_p_fdr < alpha].sort_values("specific_bits", ascending=False, kind="stable")
    tested = int(effects.specific_p.notna().sum())
    lines = ["## Specific lesion effects", ""]
    if specific.empty:
        lines.append(f"No specific effect is significant at FDR {alpha:g} (of {tested} tests).")
    else:
        lines += [f"{len(specific)} of {tested} specific effects significant at FDR {alpha:g} (Benjamini-Hochberg), "
                  "in bits of the target's test log-likelihood, relative to a typical lesion of its row; > 0: "
                  "learning `confused` helps `target`. Inference: " + str(effects.inference.iloc[0]) + ".", "",
                  "| target | confused | specific bits | 95% CI | effect bits (vs clean) | p_fdr |",
                  "| --- | --- | ---: | --- | ---: | ---: |"]
        lines += [f"| {row.target} | {row.confused} | {row.specific_bits:+.4f} | [{row.specific_lo:+.4f}, "
                  f"{row.specific_hi:+.4f}] | {row.effect_bits:+.4f} | {row.specific_p_fdr:.3g} |"
                  for row in specific.itertuples()]
    if power is not None:
        statement, warning = power_sentences(power)
        lines += ["", "## Power", "", statement] + ([] if warning is None else ["", f"**Warning:** {warning}"])
    lines += ["", "## The paper's Welch contrast", ""]
    significant, tested = significant_rows(welch_table, alpha), int(welch_table.p.notna().sum())
    if significant.empty:
        lines.append(f"No test is significant at FDR {alpha:g} (of {tested} tests).")
    else:
        lines += [f"{len(significant)} of {tested} tests significant at FDR {alpha:g} (Benjamini-Hochberg); "
                  "t > 0: learning `confused` helps `target`. A contrast, not one lesion's effect: a strong effect "
                  "of another class in the row moves it too (see the README).", "",
                  "| target | confused | t | p | p_fdr |", "| --- | --- | ---: | ---: | ---: |"]
        lines += [f"| {row.target} | {row.confused} | {row.t:.2f} | {row.p:.3g} | {row.p_fdr:.3g} |"
                  for row in significant.itertuples()]
    return "\n".join(lines) + "\n"
