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


def significance_section(welch, alpha):
    significant = significant_rows(welch, alpha)
    intro = (f"{len(significant)} of {int(welch.p.notna().sum())} Welch tests are significant at a false discovery "
             f"rate of {alpha:g} (Benjamini-Hochberg), strongest help first. t > 0: learning the confused class "
             "helps the target; g is Hedges' g with its bootstrap 95% interval.")
    columns = ["target", "confused", "t", "df", "p", "p_fdr", "p_holm", "g", "g_lo", "g_hi"]
    return html.paragraph(intro) + html.table(significant.to_dict("records"), columns)


def clean_section(vs_clean):
    intro = ("Each class's log-likelihood in clean models (mean_b) against swap models whose pair does not contain "
             "it (mean_a); t > 0: losing some other pair costs the class.")
    columns = ["target", "t", "p", "p_fdr", "g", "mean_a", "mean_b", "n_a", "n_b"]
    return html.paragraph(intro) + html.table(vs_clean.to_dict("records"), columns)


def figures_section(names):
    return "".join(html.figure((contract.FIGURES / name).read_bytes(), CAPTIONS[name]) for name in names)


def vis_section():
    images = sorted(contract.VIS.rglob("*.png")) if contract.VIS.is_dir() else []
    if not images:
        return html.paragraph(f"No images in {contract.VIS}: the visualize stage has not run.", note=True)
    return "".join(html.figure(path.read_bytes(), str(path.relative_to(contract.VIS))) for path in images)


def write_report(welch, vs_clean, summary, evaluation, curves):
    alpha = summary["alpha"]
    training = (figures_section(["training.png"]) if curves else
                html.paragraph(f"No training curves: {contract.CURVE_TABLES} holds no dvclive TSVs.", note=True))
    sections = [
        ("Summary", summary_section(summary, evaluation)),
        ("Significant effects", significance_section(welch, alpha)),
        ("Effects between classes", figures_section(["t_heatmap.png", "kl_heatmap.png"])),
        ("Clean baseline", clean_section(vs_clean) + figures_section(["loglik.png", "accuracy.png"])),
        ("Training", training),
        ("Architecture", figures_section(["architecture.png"])),
        ("What the networks see", vis_section()),
    ]
    intro = ("Copies of one small CNN were trained on CIFAR-10 with half the labels of one pair of classes swapped, "
             "and clean copies as a baseline. Each test asks whether learning one class (the confused class) "
             "changes how well the network does on another (the target).")
    save_text(contract.REPORT, html.page("Lesion study of CIFAR-10 classifiers", intro, sections))
