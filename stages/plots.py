"""Stage `plots`: the study's figures, small tables for DVC's own plots, and the HTML report.

PNGs go to plots/figures, which DVC shows as image plots (side by side per revision in `dvc plots diff`); long-form
CSVs go to plots/data for DVC's Vega templates; plots/report.html gathers the summary, the significant effects,
every figure and the visualize stage's images (plots/vis) in one self-contained file, the page a reader opens first.
"""

import json
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import Normalize
from matplotlib.patheffects import withStroke

from stages import report
from stages.common import StageError, atomic_path, load_params, require, run_stage, save_csv, save_text
from stages.stats import KL, SIX_DIGITS, SUMMARY, VS_CLEAN, WELCH, significant_rows
from stages.study import load_study

matplotlib.use("Agg")  # files only, never a window

FIGURES = Path("plots/figures")
PLOT_DATA = Path("plots/data")
EFFECTS = PLOT_DATA / "effects.csv"
CLASS_ACCURACY = PLOT_DATA / "class_accuracy.csv"
REPORT = Path("plots/report.html")
VIS = Path("plots/vis")
TRAINING = Path("metrics/training/plots/metrics")
EVAL = Path("metrics/eval.json")
OUTPUTS = [FIGURES, PLOT_DATA, REPORT]
CONDITIONS = ["clean", "swap, class kept", "swap, class in pair"]
CAPTIONS = {
    "t_heatmap.png": "Welch t of the target's test log-likelihood (rows) between swap models that learned the "
                     "confused class (columns) and swap models that had it corrupted: blue, learning the column "
                     "helps the row; red, it hurts; * significant at FDR alpha, ** also under Holm.",
    "kl_heatmap.png": "KL divergence, in bits, of the mean predicted distribution on the target's test images "
                      "(rows) between swap models that learned both classes and all swap models that learned the "
                      "target, whether or not they learned the confused class (columns).",
    "loglik.png": "Mean test log-likelihood per class, in bits, with one standard error: clean models, swap "
                  "models that kept the class, and swap models whose swapped pair contains it.",
    "accuracy.png": "Test accuracy of clean and swap models: per model over all classes (left) and per class "
                    "under the three conditions (right).",
    "training.png": "Training loss and accuracy per epoch of clean and swap models, as logged by dvclive.",
    "architecture.png": "The CNN every model shares: its layers, output shapes and parameter counts.",
}


def require_inputs():
    for path in (WELCH, KL, VS_CLEAN, SUMMARY):
        require(path, "stats")
    require(EVAL, "evaluate")


def matrix(table, column, classes):
    """A long (target, confused) table's column as a classes x classes array, NaN on the diagonal."""
    wide = table.pivot(index="target", columns="confused", values=column)
    return wide.reindex(index=classes, columns=classes).to_numpy(float)


def heatmap(values, labels, classes, cmap, norm, colorbar, title):
    """A labeled classes x classes heatmap; `labels` are the cells' texts (empty: none)."""
    fig, ax = plt.subplots(figsize=(8.5, 7.2))
    image = ax.imshow(np.ma.masked_invalid(values), cmap=plt.get_cmap(cmap).with_extremes(bad="#e4e4e4"), norm=norm)
    ticks = range(len(classes))
    ax.set_xticks(ticks, classes, rotation=40, ha="right")
    ax.set_yticks(ticks, classes)
    ax.set_xlabel("confused class (corrupted in sample A)")
    ax.set_ylabel("target class")
    for (row, column), text in np.ndenumerate(labels):
        ax.text(column, row, text, ha="center", va="center", fontsize=7,
                path_effects=[withStroke(linewidth=2, foreground="white")])
    fig.colorbar(image, ax=ax, label=colorbar)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def t_heatmap(welch, classes, alpha):
    t = matrix(welch, "t", classes)
    stars = np.where(matrix(welch, "p_holm", classes) < alpha, "**",
                     np.where(matrix(welch, "p_fdr", classes) < alpha, "*", ""))
    labels = np.where(np.isfinite(t), np.char.add(np.char.mod("%.1f", t), stars), "")
    limit = max(1.0, float(np.nanmax(np.abs(t), initial=0)))
    return heatmap(t, labels, classes, "RdBu", Normalize(-limit, limit), "Welch t (> 0: learning confused helps)",
                   "Does learning the confused class help the target?")


def kl_heatmap(kl, classes):
    bits = matrix(kl, "kl_bits", classes)
    labels = np.where(np.isfinite(bits), np.char.mod("%.2g", bits), "")
    return heatmap(bits, labels, classes, "viridis", None, "KL divergence (bits)",
                   "How far learning the confused class moves predictions on the target")


def by_condition(study, column):
    """Per class and condition: the models' values of a per_class.csv column, as a dict of arrays."""
    values = study.values(column)
    groups = {}
    for t, name in enumerate(study.classes):
        masks = [study.clean, study.pair_lacks(t), study.in_pair[:, t]]
        for condition, mask in zip(CONDITIONS, masks):
            groups[name, condition] = values[mask, t]
    return groups


def condition_offsets():
    return {condition: (i - 1) * 0.27 for i, condition in enumerate(CONDITIONS)}


def loglik_figure(study):
    groups = by_condition(study, "loglik_bits")
    fig, ax = plt.subplots(figsize=(10, 4.8))
    x = np.arange(len(study.classes))
    for condition, offset in condition_offsets().items():
        samples = [groups[name, condition] for name in study.classes]
        means = [s.mean() if len(s) else np.nan for s in samples]
        errors = [s.std(ddof=1) / np.sqrt(len(s)) if len(s) > 1 else 0 for s in samples]
        ax.bar(x + offset, means, width=0.27, yerr=errors, capsize=2, label=condition)
    ax.set_xticks(x, study.classes, rotation=30, ha="right")
    ax.set_ylabel("mean log-likelihood (bits)")
    ax.set_title("Test log-likelihood per class and condition (higher is better)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    return fig


def accuracy_figure(study):
    accuracy = study.values("accuracy")
    groups = by_condition(study, "accuracy")
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8), gridspec_kw={"width_ratios": [1, 2.4]})
    per_model = accuracy.mean(axis=1)
    bins = np.linspace(per_model.min(), per_model.max(), 25)
    for name, mask in (("clean", study.clean), ("swap", study.swap)):
        left.hist(per_model[mask], bins=bins, alpha=0.6, density=True, label=f"{name} ({mask.sum()} models)")
    left.set_xlabel("test accuracy (all classes)")
    left.set_ylabel("density")
    left.legend()
    x = np.arange(len(study.classes))
    for i, (condition, offset) in enumerate(condition_offsets().items()):
        boxes = right.boxplot([groups[name, condition] for name in study.classes], positions=x + offset,
                              widths=0.24, patch_artist=True, showfliers=False, manage_ticks=False,
                              medianprops={"color": "black"})
        for box in boxes["boxes"]:
            box.set_facecolor(f"C{i}")
        right.plot([], [], color=f"C{i}", linewidth=6, label=condition)
    right.set_xticks(x, study.classes, rotation=30, ha="right")
    right.set_ylabel("test accuracy of the class")
    right.legend(fontsize=8)
    fig.suptitle("Accuracy of clean and swap models")
    fig.tight_layout()
    return fig


def training_curves():
    """dvclive's per-epoch TSVs as {(kind, metric): table}; empty when the train stage logged none."""
    curves = {}
    for metric in ("loss", "accuracy"):
        for kind in ("clean", "swap"):
            path = TRAINING / kind / f"{metric}.tsv"
            if path.exists():
                curves[kind, metric] = pd.read_csv(path, sep="\t")
    return curves


def training_figure(curves):
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, metric in zip(axes, ("loss", "accuracy")):
        for (kind, name), table in curves.items():
            if name == metric:
                ax.plot(table["step"], table[table.columns[-1]], marker="o", markersize=3, label=kind)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.legend()
    fig.suptitle("Training curves")
    fig.tight_layout()
    return fig


def architecture_figure():
    """The CNN of stages/cnn.py as a table: Keras builds it, so the figure can't drift from the code."""
    from stages.cnn import build_cnn

    model = build_cnn()
    rows = [[layer.name, type(layer).__name__, str(tuple(layer.output.shape[1:])), f"{layer.count_params():,}"]
            for layer in model.layers]
    rows.append(["total", "", "", f"{model.count_params():,}"])
    fig, ax = plt.subplots(figsize=(7, 0.42 * len(rows) + 0.9))
    ax.axis("off")
    table = ax.table(cellText=rows, colLabels=["layer", "type", "output shape", "parameters"], loc="center",
                     cellLoc="left", colLoc="left")
    table.scale(1, 1.5)
    for (row, _), cell in table.get_celld().items():
        if row == 0 or row == len(rows):
            cell.set_text_props(fontweight="bold")
    ax.set_title("Architecture (input 32x32x3, output 10 logits)")
    fig.tight_layout()
    return fig


def save_figure(name, fig, dpi):
    path = FIGURES / name
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    plt.close(fig)
    return path


def plot_data(study, welch):
    """Long-form tables for DVC's templates: every effect's t, and mean accuracy per class and condition."""
    effects = welch.dropna(subset=["t"])[["target", "confused", "t", "p_fdr"]].copy()
    effects.insert(2, "effect", effects.target + "<-" + effects.confused)
    save_csv(EFFECTS, effects, SIX_DIGITS)
    rows = [(name, condition, f"{name}: {condition}", values.mean() if len(values) else np.nan)
            for (name, condition), values in by_condition(study, "accuracy").items()]
    table = pd.DataFrame(rows, columns=["class", "condition", "bar", "accuracy"])
    save_csv(CLASS_ACCURACY, table, SIX_DIGITS)


def summary_section(summary, evaluation):
    rows = [{"metric": key, "value": value} for key, value in {**evaluation, **summary}.items()]
    return report.table(rows, ["metric", "value"])


def significance_section(welch, alpha):
    significant = significant_rows(welch, alpha)
    intro = (f"{len(significant)} of {int(welch.p.notna().sum())} Welch tests are significant at a false discovery "
             f"rate of {alpha:g} (Benjamini-Hochberg), strongest help first. t > 0: learning the confused class "
             "helps the target; g is Hedges' g with its bootstrap 95% interval.")
    columns = ["target", "confused", "t", "df", "p", "p_fdr", "p_holm", "g", "g_lo", "g_hi"]
    return report.paragraph(intro) + report.table(significant.to_dict("records"), columns)


def clean_section(vs_clean):
    intro = ("Each class's log-likelihood in clean models (mean_b) against swap models whose pair does not contain "
             "it (mean_a); t > 0: losing some other pair costs the class.")
    columns = ["target", "t", "p", "p_fdr", "g", "mean_a", "mean_b", "n_a", "n_b"]
    return report.paragraph(intro) + report.table(vs_clean.to_dict("records"), columns)


def figures_section(names):
    return "".join(report.figure((FIGURES / name).read_bytes(), CAPTIONS[name]) for name in names)


def vis_section():
    images = sorted(VIS.rglob("*.png")) if VIS.is_dir() else []
    if not images:
        return report.paragraph(f"No images in {VIS}: the visualize stage has not run.", note=True)
    return "".join(report.figure(path.read_bytes(), str(path.relative_to(VIS))) for path in images)


def write_report(welch, vs_clean, summary, evaluation, curves):
    alpha = summary["alpha"]
    training = (figures_section(["training.png"]) if curves else
                report.paragraph(f"No training curves: {TRAINING} holds no dvclive TSVs.", note=True))
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
    save_text(REPORT, report.page("Lesion study of CIFAR-10 classifiers", intro, sections))


def validate(params):
    dpi = params["dpi"]
    if not isinstance(dpi, int) or isinstance(dpi, bool) or not 50 <= dpi <= 600:
        raise StageError(f"plots.dpi must be an integer from 50 to 600, got {dpi!r}")


def main():
    params = load_params("plots")
    validate(params)
    require_inputs()
    study = load_study()
    welch, kl, vs_clean = (pd.read_csv(path, keep_default_na=False, na_values=[""]) for path in (WELCH, KL, VS_CLEAN))
    summary, evaluation = json.loads(SUMMARY.read_text()), json.loads(EVAL.read_text())
    curves = training_curves()
    figures = {
        "t_heatmap.png": lambda: t_heatmap(welch, study.classes, summary["alpha"]),
        "kl_heatmap.png": lambda: kl_heatmap(kl, study.classes),
        "loglik.png": lambda: loglik_figure(study),
        "accuracy.png": lambda: accuracy_figure(study),
        "training.png": lambda: training_figure(curves),
        "architecture.png": architecture_figure,
    }
    if not curves:
        del figures["training.png"]
    written = {save_figure(name, make(), params["dpi"]) for name, make in figures.items()}
    for stale in set(FIGURES.glob("*.png")) - written:
        stale.unlink()
    plot_data(study, welch)
    write_report(welch, vs_clean, summary, evaluation, curves)
    print(f"wrote {len(written)} figures to {FIGURES}, plot data to {PLOT_DATA} and {REPORT}")


if __name__ == "__main__":
    run_stage(main, outputs=OUTPUTS)
