"""The study's figures as matplotlib Figures: effect heatmaps, per-class log-likelihood and accuracy by
condition, training curves and the architecture. Each function draws one figure from tables it is given."""

import io

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import Normalize
from matplotlib.patheffects import withStroke


matplotlib.use("Agg")  # files only, never a window

CONDITIONS = ["clean", "swap, class kept", "swap, class in pair"]
CAPTIONS = {
    "specific_heatmap.png": "Specific lesion effects, in bits of the target's test log-likelihood (rows): what "
                            "learning the confused class (columns) does for the target, relative to a typical "
                            "lesion of the row (additive lesion model); blue, learning the column helps the row; "
                            "red, it hurts; * 95% interval excludes 0, ** also significant at FDR alpha; grey: the "
                            "design does not identify the effect (the class is never lesioned apart).",
    "forest.png": "The strongest specific effects with their 95% intervals (dark), beside the same classes' effect "
                  "against a network that learned every class (light), in bits.",
    "t_heatmap.png": "The paper's Welch contrast: t of the target's test log-likelihood (rows) between swap models "
                     "that learned the confused class (columns) and swap models that had it corrupted; a contrast "
                     "against the row's other lesions, not one lesion's effect. Blue, learning the column "
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



def matrix(table, column, classes):
    """A long (target, confused) table's column as a classes x classes array, NaN on the diagonal."""
    wide = table.pivot(index="target", columns="confused", values=column)
    return wide.reindex(index=classes, columns=classes).to_numpy(float)


def heatmap(values, labels, classes, cmap, norm, colorbar, title, xlabel="confused class (corrupted in sample A)"):
    """A labeled classes x classes heatmap; `labels` are the cells' texts (empty: none)."""
    fig, ax = plt.subplots(figsize=(8.5, 7.2))
    image = ax.imshow(np.ma.masked_invalid(values), cmap=plt.get_cmap(cmap).with_extremes(bad="#e4e4e4"), norm=norm)
    ticks = range(len(classes))
    ax.set_xticks(ticks, classes, rotation=40, ha="right")
    ax.set_yticks(ticks, classes)
    ax.set_xlabel(xlabel)
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


def specific_heatmap(effects, classes, alpha):
    """Specific effects in bits; marks from the 95% interval (*) and the FDR adjustment (**)."""
    bits = matrix(effects, "specific_bits", classes)
    excludes_zero = (matrix(effects, "specific_lo", classes) > 0) | (matrix(effects, "specific_hi", classes) < 0)
    marks = np.where(matrix(effects, "specific_p_fdr", classes) < alpha, "**", np.where(excludes_zero, "*", ""))
    labels = np.where(np.isfinite(bits), np.char.add(np.char.mod("%+.3f", bits), marks), "")
    limit = max(1e-3, float(np.nanmax(np.abs(bits), initial=0)))
    return heatmap(bits, labels, classes, "RdBu", Normalize(-limit, limit),
                   "specific effect (bits; > 0: learning confused helps)",
                   "Specific effects: learning the column, beyond a typical lesion",
                   xlabel="confused class (lesioned)")


def forest_figure(effects, count=15):
    """The `count` specific effects largest in |t|, with their intervals, beside the absolute effects."""
    tested = effects.dropna(subset=["specific_t"])
    top = tested.reindex(tested.specific_t.abs().sort_values(ascending=False).index[:count])[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.32 * max(len(top), 3) + 1.4))
    y = np.arange(len(top))
    for offset, family, colour, label in ((0.15, "specific", "C0", "specific (vs a typical lesion)"),
                                          (-0.15, "effect", "C7", "effect (vs a network that learned all)")):
        values = top[f"{family}_bits"].to_numpy()
        errors = np.abs(np.stack([values - top[f"{family}_lo"].to_numpy(), top[f"{family}_hi"].to_numpy() - values]))
        ax.errorbar(values, y + offset, xerr=np.nan_to_num(errors), fmt="o", color=colour, markersize=4,
                    capsize=2, label=label)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(y, [f"{row.target} \u2190 {row.confused}" for row in top.itertuples()])
    ax.set_xlabel("bits of the target's test log-likelihood (> 0: learning the confused class helps)")
    ax.set_title("Strongest specific lesion effects, 95% intervals")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.11), ncol=2, frameon=False)
    fig.tight_layout()
    return fig


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
    """The CNN of lesion/model/cnn.py as a table: Keras builds it, so the figure can't drift from the code."""
    from lesion.model.cnn import build_cnn

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


def png_bytes(fig, dpi):
    """A figure as PNG bytes (written by the stage, embedded by the report), the figure closed."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    return buffer.getvalue()
