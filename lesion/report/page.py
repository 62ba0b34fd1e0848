"""plots/report.html: the summary, the significant effects, every figure and the visualize stage's images."""

from lesion import contract
from lesion.files import save_text
from lesion.report import html
from lesion.report.figures import CAPTIONS
from lesion.stats.significance import significant_rows


def summary_section(summary, evaluation):
    """eval.json's metrics, then summary.json's: two stages' metrics, no name in both."""
    rows = [{"metric": key, "value": value} for metrics in (evaluation, summary) for key, value in metrics.items()]
    return html.table(rows, ["metric", "value"])


HOW_TO_READ = (
    "Two families answer two questions. The specific effect (additive lesion model) is what losing the confused "
    "class costs the target beyond a typical lesion of the same row, in bits of the target's test log-likelihood, "
    "with a 95% interval: cite it for 'learning C helps T'. Its companion, the effect against a network that "
    "learned every class, also holds the cost every lesion shares. The paper's Welch t compares models that lost C "
    "with models that lost some other pair: a contrast, so one strong effect in a row moves every other test of "
    "that row the opposite way by about a ninth of its size; read its heatmap beside the specific one, and trust a "
    "cell only where both agree.")


def lesion_section(effects, summary, alpha, pngs):
    significant = effects[effects.specific_p_fdr < alpha].sort_values("specific_bits", ascending=False,
                                                                       kind="stable")
    intro = (f"{len(significant)} of {int(effects.specific_p.notna().sum())} specific effects are significant at a "
             f"false discovery rate of {alpha:g} (Benjamini-Hochberg), strongest help first; inference "
             f"{summary['inference']} (pooled lack-of-fit p = {summary['lack_of_fit_p']}).")
    columns = ["target", "confused", "specific_bits", "specific_lo", "specific_hi", "specific_p_fdr", "effect_bits",
               "effect_p_fdr", "contrast_bits"]
    side_by_side = ('<div class="pair">' + figures_section(pngs, ["specific_heatmap.png", "t_heatmap.png"]) + "</div>")
    return (html.paragraph(HOW_TO_READ) + html.paragraph(intro) + html.table(significant.to_dict("records"), columns)
            + side_by_side + figures_section(pngs, ["forest.png"]))


def significance_section(welch, alpha):
    significant = significant_rows(welch, alpha)
    intro = (f"The paper's contrast: {len(significant)} of {int(welch.p.notna().sum())} Welch tests are significant "
             f"at a false discovery rate of {alpha:g} (Benjamini-Hochberg), strongest help first. t > 0: learning "
             "the confused class helps the target relative to the row's other lesions; g is Hedges' g with its "
             "bootstrap 95% interval.")
    columns = ["target", "confused", "t", "df", "p", "p_fdr", "p_holm", "g", "g_lo", "g_hi"]
    return html.paragraph(intro) + html.table(significant.to_dict("records"), columns)


def clean_section(vs_clean):
    intro = ("Each class's log-likelihood in clean models (mean_b) against swap models whose pair does not contain "
             "it (mean_a); t > 0: losing some other pair costs the class.")
    columns = ["target", "t", "p", "p_fdr", "g", "mean_a", "mean_b", "n_a", "n_b"]
    return html.paragraph(intro) + html.table(vs_clean.to_dict("records"), columns)


def figures_section(pngs, names):
    """The named figures of `pngs` (name: PNG bytes), each with its caption."""
    return "".join(html.figure(pngs[name], CAPTIONS[name]) for name in names)


def vis_section():
    images = sorted(contract.VIS.rglob("*.png")) if contract.VIS.is_dir() else []
    if not images:
        return html.paragraph(f"No images in {contract.VIS}: the visualize stage has not run.", note=True)
    return "".join(html.figure(path.read_bytes(), str(path.relative_to(contract.VIS))) for path in images)


def write_report(welch, vs_clean, lesion_effects, summary, evaluation, pngs):
    """The report, with the stage's figures (`pngs`: name: PNG bytes; no training.png without curves)."""
    alpha = summary["alpha"]
    training = (figures_section(pngs, ["training.png"]) if "training.png" in pngs else
                html.paragraph(f"No training curves: {contract.CURVE_TABLES} holds no dvclive TSVs.", note=True))
    sections = [
        ("Summary", summary_section(summary, evaluation)),
        ("Lesion effects", lesion_section(lesion_effects, summary, alpha, pngs)),
        ("The paper's Welch contrast", significance_section(welch, alpha)),
        ("Divergences", figures_section(pngs, ["kl_heatmap.png"])),
        ("Clean baseline", clean_section(vs_clean) + figures_section(pngs, ["loglik.png", "accuracy.png"])),
        ("Training", training),
        ("Architecture", figures_section(pngs, ["architecture.png"])),
        ("What the networks see", vis_section()),
    ]
    intro = ("Copies of one small CNN were trained on CIFAR-10 with half the labels of one pair of classes swapped, "
             "and clean copies as a baseline. Each test asks whether learning one class (the confused class) "
             "changes how well the network does on another (the target).")
    save_text(contract.REPORT, html.page("Lesion study of CIFAR-10 classifiers", intro, sections))
