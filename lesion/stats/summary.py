"""The stats stage's scalars for `dvc metrics diff` and its Markdown list of significant effects."""

import math

from lesion.stats.significance import significant_rows


def summarize(study, welch_table, kl_table, vs_clean, alpha):
    """Scalars for `dvc metrics diff` / `dvc exp show`; numbers stay numbers, an undefined one is null.

    Accuracy and model counts of the evaluation are eval.json's (the evaluate stage's); nothing is written twice.
    """
    accuracy = study.values("accuracy").mean(axis=1)
    tested = welch_table.dropna(subset=["t"])
    significant = tested[tested.p_fdr < alpha]
    summary = dict(
        n_clean=int(study.clean.sum()), n_swap=int(study.swap.sum()), swap_accuracy=accuracy[study.swap].mean(),
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
