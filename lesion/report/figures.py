"""The study's figures as matplotlib Figures: effect heatmaps, per-class log-likelihood and accuracy by
condition, training curves and the architecture. Each function draws one figure from tables it is given."""

import io
import math

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.collections import EllipseCollection
from matplotlib.colors import Normalize, PowerNorm
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator
from matplotlib.patheffects import withStroke


matplotlib.use("Agg")  # files only, never a window

CONDITIONS = ["clean", "swap, class kept", "swap, class in pair"]
MIN_FONT = 8  # points: no text of any figure is smaller
WIDTH = 10  # inches: the widest figure, 1,100 px at the default dpi, shown unscaled by the report
TITLE_SIZE = 11  # points: a panel's title
matplotlib.rcParams.update({"font.size": 10, "legend.fontsize": 9, "xtick.labelsize": 9, "ytick.labelsize": 9,
                            "axes.titlesize": TITLE_SIZE, "figure.titlesize": 12})
UNTESTABLE = "#e4e4e4"  # grey: a cell the design cannot test
# Up to this many classes a class x class grid prints each cell's number; beyond, the numbers no longer fit a cell
# (at MIN_FONT, "+0.100**" just fits a 10-class grid's cell) and marks become dots.
ANNOTATED_CLASSES = 10
LABEL_SPACING = 1.2  # a tick label takes its font size times this across its lines, so neighbours never touch
MEASURE = RendererAgg(1, 1, 72)  # lays text out as the figures do, in points (72 dots an inch); draws nothing


def many_classes(marks=""):
    """The captions' note on grids of many classes: no numbers in the cells (`marks`: what shows instead), and
    every n-th class named where all names would overlap."""
    return (f" Above {ANNOTATED_CLASSES} classes the cells carry no numbers{marks}, and where the class names would "
            "overlap every n-th is named.")


# What each figure shows and how to read it: the report's captions.
CAPTIONS = {
    "specific_heatmap.png": "Specific lesion effects (additive lesion model). Each cell is what learning the "
                            "column's class does for the row's class beyond a typical lesion of that row, in bits "
                            "of the row class's test log-likelihood: blue, learning the column helps the row; red, "
                            "it hurts; white, no difference. * the 95% interval excludes 0; ** also significant at "
                            "the FDR alpha. Grey cells: the design does not identify the effect (the column class "
                            "is never lesioned, or never apart from the row's other lesions)."
                            + many_classes(" (** is a filled dot, * a hollow one)"),
    "forest.png": "The strongest specific effects (largest |t|, top: strongest), one row per target ← "
                  "confused pair: dots are the estimates in bits, bars their 95% intervals; dark, the specific "
                  "effect (against a typical lesion of the row); light, the same pair's effect against a network "
                  "that learned every class. An interval that crosses the vertical line at 0 is not "
                  "distinguishable from no effect.",
    "t_heatmap.png": "The paper's Welch contrast. Each cell is Welch's t of the row class's test log-likelihood "
                     "between swap models that learned the column's class and swap models whose swapped pair "
                     "contained it: blue, learning the column helps the row; red, it hurts. A contrast against "
                     "the row's other lesions, not one lesion's effect: read it beside the specific effects. "
                     "* significant at the FDR alpha, ** also under Holm; grey: fewer than two models in a "
                     "sample, so no test." + many_classes(" (** is a filled dot, * a hollow one)"),
    "kl_heatmap.png": "How far learning the column's class moves the predictions on the row class's test images: "
                      "KL divergence, in bits, of the mean predicted distribution of swap models that learned both "
                      "classes from that of all swap models that learned the row class. Brighter is a larger "
                      "move; 0 is none. Grey cells: no swap model corrupted the column class while keeping the "
                      "row class, or none kept both, so there is nothing to compare." + many_classes(),
    "loglik.png": "Test log-likelihood per class as the difference from the clean baseline, in bits (up to "
                  f"{ANNOTATED_CLASSES} classes the clean models' mean is under each class name): top, swap models "
                  "that kept the class (how much a lesion of some other pair costs it); bottom, swap models whose "
                  "swapped pair contains the class (the direct damage). Bars below 0 are worse than the clean "
                  "models; whiskers are one standard error of the difference. The two panels have their own "
                  "scales.",
    "accuracy.png": "Test accuracy. Left: how many models reach each accuracy over all classes, clean and swap "
                    "models separately. Right: each class's accuracy under the three conditions (boxes: quartiles "
                    "and median over models, whiskers the range; dots are single models where a condition has "
                    f"few; above {ANNOTATED_CLASSES} classes a dot at the median and a bar over the quartiles).",
    "confusion.png": "Confusion grids: each row is a true class, each column a predicted class, and a cell the "
                     "mean predicted probability (percent, darker is larger; a square-root colour scale shows "
                     "small confusions) over the condition's models and the row class's test images; rows sum to "
                     "100. First the clean models, then the models of each swapped pair shown (its two classes "
                     "should show up as a bright off-diagonal pair)."
                     + many_classes(" (the swapped pair's two cells are squared in red)"),
    "training.png": "Training curves per epoch, mean over clean and over swap models: left, training loss; right, "
                    "accuracy on the training labels (solid; the swap models' labels are partly swapped) and, where "
                    "the train stage logged it, on the test set (dashed, same colour).",
    "effect_trajectories.png": "The strongest specific effects of the last epoch, after every epoch the train stage "
                               "evaluated (train.eval_every): the line is the effect in bits, the band its 95% "
                               "interval, a filled dot an epoch in which it is significant at the FDR alpha. An "
                               "effect that grows steadily out of noise develops slowly; one that jumps between two "
                               "epochs appears at once.",
    "epoch_heatmaps.png": "The specific-effect heatmap after each evaluated epoch (at most six, evenly spread), on "
                          "one colour scale: blue, learning the column's class helps the row's; red, it hurts; "
                          "a dot, significant at the FDR alpha in that epoch; grey, not identified.",
    "weight_embedding.png": "Every model's permutation-invariant weight features (spectra and bias quantiles of "
                            "each layer, conv1's colour statistics, the output layer's class norms, biases and "
                            "similarities; standardized) projected on their first two principal components. A pair "
                            "whose models gather apart from the others left a mark in the weights that an unsupervised "
                            "view already sees; clean models are grey crosses. With more than 12 pairs, the 12 "
                            "whose models' centre lies farthest out are named there.",
    "weight_confusion.png": "Cross-validated predictions of the swapped pair by the most accurate weight decoder: "
                            "each row a swapped pair, each column the pair the decoder named, the cell the share of "
                            "the row's models. A dark diagonal: the lesion is readable from those weights; "
                            "off-diagonal cells show which lesions look alike.",
    "architecture.png": "The network every model shares (train.model), as Keras builds it: each layer, its "
                        "output shape and its parameter count.",
}


def matrix(table, column, classes):
    """A long (target, confused) table's column as a classes x classes array, NaN on the diagonal."""
    wide = table.pivot(index="target", columns="confused", values=column)
    return wide.reindex(index=classes, columns=classes).to_numpy(float)


def luminance(rgba):
    """Perceived brightness of a colour, 0 (black) to 1 (white): white text goes on cells under about 0.45."""
    return 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2]


def names_room(names, fontsize=MIN_FONT):
    """Inches the widest line of `names` takes at `fontsize`, as Agg lays it out."""
    font = FontProperties(size=fontsize)
    lines = [line for name in names for line in name.split("\n")]
    return max((MEASURE.get_text_width_height_descent(line, font, False)[0] for line in lines), default=0) / 72


def one_or_two_lines(first, second, inches, fontsize):
    """`first second` on one line where it fits `inches` at `fontsize`, else on two: long class names in a
    panel's title would run into the next panel's."""
    line = f"{first} {second}"
    return line if names_room([line], fontsize) <= inches else f"{first}\n{second}"


def square_side(width, height, names):
    """The side, in inches, of a square grid in a figure of `width` x `height` inches with the `names` of its rows
    left of it and of its columns slanted below it, a colour bar right of it and a title above it."""
    room = names_room(names, 9)
    return min(width - room - 1.6, height - 0.87 * room - 1.2)


def along_axis(names, fontsize, rotation):
    """Points each tick name needs along a horizontal axis: its widest line and a space upright, its lines' height
    when slanted by `rotation` degrees or upright (90; a vertical axis' names are 90 too)."""
    if rotation == 0:
        return 72 * names_room(names, fontsize) + fontsize
    lines = sum(name.count("\n") + 1 for name in names) / max(1, len(names))
    return fontsize * LABEL_SPACING * lines / math.sin(math.radians(rotation))


def class_ticks(axis, names, inches, named=True, **style):
    """Tick every class along `axis` (an Axes' xaxis or yaxis, about `inches` long) and name it with `names`: all
    at the tick font size and `style` where they fit, else all at MIN_FONT, else every n-th at MIN_FONT (upright on
    x) with an unnamed tick at each class between. `named` False: ticks without names (a panel whose neighbour names
    them)."""
    count, room = len(names), inches * 72
    rotation = style.get("rotation", 0) if axis.axis_name == "x" else 90
    sizes = (matplotlib.rcParams[f"{axis.axis_name}tick.labelsize"], MIN_FONT)
    fitting = [size for size in sizes if count * along_axis(names, size, rotation) <= room]
    if fitting:
        fontsize, step = fitting[0], 1
    else:
        fontsize, style = MIN_FONT, ({"rotation": 90} if axis.axis_name == "x" else {})
        step = math.ceil(count * along_axis(names, MIN_FONT, 90) / room)
        axis.set_ticks(range(count), minor=True)
    shown = range(0, count, step)
    axis.set_ticks(shown, [names[i] for i in shown] if named else [], fontsize=fontsize, **style)


def dot_marks(ax, marks, meanings):
    """The cells' marks as dots where their text would not fit: "**" filled, "*" hollow, each 0.6 of a cell wide
    whatever the grid's size; a legend of `meanings` below the figure."""
    if not meanings:
        return
    handles = []
    for mark, fill in (("**", "black"), ("*", "none")):
        rows, columns = np.nonzero(marks == mark)
        ax.add_collection(EllipseCollection(0.6, 0.6, 0, units="xy", offsets=np.column_stack([columns, rows]),
                                            offset_transform=ax.transData, facecolors=fill, edgecolors="black",
                                            linewidths=0.7))
        handles.append(Line2D([], [], marker="o", linestyle="none", markerfacecolor=fill, markeredgecolor="black",
                              label=f"{mark} {meanings[mark]}"))
    ax.figure.legend(handles=handles, loc="lower center", ncol=2, frameon=False)


def heatmap(values, numbers, marks, meanings, classes, cmap, norm, colorbar, title,
            xlabel="confused class (corrupted in sample A)"):
    """A classes x classes heatmap: each cell shows its number (`numbers`, text) and its mark ("*", "**" or "" in
    `marks`), or, above ANNOTATED_CLASSES classes, only its mark, as a dot (`meanings` names them in a legend)."""
    annotated = len(classes) <= ANNOTATED_CLASSES
    fig, ax = plt.subplots(figsize=(8.5, 7.2) if annotated else (WIDTH, WIDTH - 0.6))
    image = ax.imshow(np.ma.masked_invalid(values), cmap=plt.get_cmap(cmap).with_extremes(bad=UNTESTABLE), norm=norm)
    side = square_side(*fig.get_size_inches(), classes)
    class_ticks(ax.xaxis, classes, side, rotation=40, ha="right")
    class_ticks(ax.yaxis, classes, side)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("target class")
    if annotated:
        for (row, column), text in np.ndenumerate(np.char.add(numbers, marks)):
            dark = np.isfinite(values[row, column]) and luminance(image.cmap(image.norm(values[row, column]))) < 0.45
            ax.text(column, row, text, ha="center", va="center", fontsize=MIN_FONT, color="white" if dark else "black",
                    path_effects=[withStroke(linewidth=2, foreground="black" if dark else "white")])
    else:
        dot_marks(ax, marks, meanings)
    fig.colorbar(image, ax=ax, label=colorbar, shrink=1 if annotated else 0.8)
    ax.set_title(title)
    fig.tight_layout(rect=(0, 0 if annotated else 0.04, 1, 1))  # the marks' legend below
    return fig


def t_heatmap(welch, classes, alpha):
    t = matrix(welch, "t", classes)
    stars = np.where(matrix(welch, "p_holm", classes) < alpha, "**",
                     np.where(matrix(welch, "p_fdr", classes) < alpha, "*", ""))
    numbers = np.where(np.isfinite(t), np.char.mod("%.1f", t), "")
    limit = max(1.0, float(np.nanmax(np.abs(t), initial=0)))
    return heatmap(t, numbers, stars, {"**": "significant under Holm", "*": "significant at the FDR alpha"}, classes,
                   "RdBu", Normalize(-limit, limit), "Welch t (> 0: learning confused helps)",
                   "Does learning the confused class help the target?")


def specific_heatmap(effects, classes, alpha):
    """Specific effects in bits; marks from the 95% interval (*) and the FDR adjustment (**)."""
    bits = matrix(effects, "specific_bits", classes)
    excludes_zero = (matrix(effects, "specific_lo", classes) > 0) | (matrix(effects, "specific_hi", classes) < 0)
    marks = np.where(matrix(effects, "specific_p_fdr", classes) < alpha, "**", np.where(excludes_zero, "*", ""))
    numbers = np.where(np.isfinite(bits), np.char.mod("%+.3f", bits), "")
    limit = max(1e-3, float(np.nanmax(np.abs(bits), initial=0)))
    return heatmap(bits, numbers, marks, {"**": "significant at the FDR alpha", "*": "95% interval excludes 0"},
                   classes, "RdBu", Normalize(-limit, limit), "specific effect (bits; > 0: learning confused helps)",
                   "Specific effects: learning the column, beyond a typical lesion",
                   xlabel="confused class (lesioned)")


def forest_figure(effects, count=15):
    """The `count` specific effects largest in |t|, with their intervals, beside the absolute effects. Wider, and
    its axis label on two lines, where long class names leave the axis less room than CIFAR-10's."""
    tested = effects.dropna(subset=["specific_t"])
    top = tested.reindex(tested.specific_t.abs().sort_values(ascending=False).index[:count])[::-1]
    names = [f"{row.target} \u2190 {row.confused}" for row in top.itertuples()]
    room = names_room(names, 9)
    width = min(WIDTH, 8 + max(0.0, room - 2.0))
    fig, ax = plt.subplots(figsize=(width, 0.32 * max(len(top), 3) + 1.4))
    y = np.arange(len(top))
    for offset, family, colour, label in ((0.15, "specific", "C0", "specific (vs a typical lesion)"),
                                          (-0.15, "effect", "C7", "effect (vs a network that learned all)")):
        values = top[f"{family}_bits"].to_numpy()
        errors = np.abs(np.stack([values - top[f"{family}_lo"].to_numpy(), top[f"{family}_hi"].to_numpy() - values]))
        ax.errorbar(values, y + offset, xerr=np.nan_to_num(errors), fmt="o", color=colour, markersize=4,
                    capsize=2, label=label)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(y, names)
    ax.set_xlabel(one_or_two_lines("bits of the target's test log-likelihood", "(> 0: learning the confused class "
                                   "helps)", width - room - 0.7, 10))
    ax.set_title("Strongest specific lesion effects, 95% intervals")
    fig.legend(loc="lower center", ncol=2, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))  # the legend below
    return fig


def kl_heatmap(kl, classes):
    """KL in bits; a cell with nothing to compare is grey, not 0 (the stats' NaN: lesion.stats.divergence)."""
    bits = matrix(kl, "kl_bits", classes)
    numbers = np.where(np.isfinite(bits), np.char.mod("%.2g", bits), "")
    return heatmap(bits, numbers, np.full(bits.shape, ""), {}, classes, "viridis",
                   Normalize(0, max(1e-6, float(np.nanmax(bits, initial=0)))), "KL divergence (bits)",
                   "How far learning the confused class moves predictions on the target",
                   xlabel="confused class (corrupted in some swap models)")


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


def mean_se(sample):
    """Mean and standard error of a sample (NaN mean when empty, SE 0 with one value)."""
    if len(sample) == 0:
        return np.nan, np.nan
    return sample.mean(), sample.std(ddof=1) / np.sqrt(len(sample)) if len(sample) > 1 else 0.0


def loglik_differences(study):
    """Per condition other than the baseline: (differences from the baseline's mean, their SEs) per class, and the
    baseline's name and means. The baseline is the clean models, or without them the swap models that kept the
    class."""
    groups = by_condition(study, "loglik_bits")
    baseline = CONDITIONS[0] if study.clean.any() else CONDITIONS[1]
    base = [mean_se(groups[name, baseline]) for name in study.classes]
    differences = {}
    for condition in CONDITIONS[CONDITIONS.index(baseline) + 1:]:
        stats = [mean_se(groups[name, condition]) for name in study.classes]
        differences[condition] = (np.array([m - b[0] for (m, _), b in zip(stats, base)]),
                                  np.array([np.hypot(se, b[1]) for (_, se), b in zip(stats, base)]))
    return baseline, np.array([b[0] for b in base]), differences


def loglik_figure(study):
    """Each condition's mean log-likelihood per class minus the clean baseline's, one panel per condition. Up to
    ANNOTATED_CLASSES classes each bar without a model says so and each name carries the baseline's mean."""
    baseline, base, differences = loglik_differences(study)
    annotated = len(study.classes) <= ANNOTATED_CLASSES
    fig, axes = plt.subplots(len(differences), 1, figsize=(WIDTH, 2.9 * len(differences) + 1.2), sharex=True,
                             squeeze=False)
    x = np.arange(len(study.classes))
    for ax, (condition, (diff, se)) in zip(axes[:, 0], differences.items()):
        colour = f"C{CONDITIONS.index(condition)}"
        ax.bar(x, np.nan_to_num(diff), width=0.6, yerr=np.where(np.isfinite(se), se, 0), capsize=3 if annotated else 0,
               color=colour, error_kw={"elinewidth": 1.5 if annotated else 0.8})
        missing = np.flatnonzero(~np.isfinite(diff))
        if annotated:
            for i in missing:
                ax.text(i, 0, "no model", ha="center", va="bottom", fontsize=MIN_FONT, color="#666")
        elif len(missing):
            ax.plot(missing, np.zeros(len(missing)), "x", color="#666", markersize=4, label="no model")
            ax.legend(loc="lower right", frameon=False)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_ylabel("bits vs " + baseline)
        ax.set_title(f"{condition} minus {baseline}")
    names = [f"{name}\n{b:.3f}" for name, b in zip(study.classes, base)] if annotated else study.classes
    class_ticks(axes[-1, 0].xaxis, names, WIDTH - 0.9)
    axes[-1, 0].set_xlabel(f"class, and its {baseline} models' mean test log-likelihood (bits)" if annotated else
                           "class")
    fig.suptitle("Test log-likelihood per class: difference from the " + baseline + " models (higher is better)")
    fig.tight_layout()
    return fig


def histogram_bins(values):
    """Bin edges for a histogram of a few or of thousands of models: about 2 sqrt(n), 5 to 25 bins."""
    count = int(np.clip(2 * np.ceil(np.sqrt(len(values))), 5, 25))
    low, high = float(np.min(values)), float(np.max(values))
    if high - low < 1e-6:
        low, high = low - 0.005, high + 0.005
    return np.linspace(low, high, count + 1)


def class_boxes(ax, samples, colour, positions, rng, few):
    """One box per class (quartiles, median, range), and its models as dots where it has at most `few`."""
    boxes = ax.boxplot(samples, positions=positions, widths=0.24, patch_artist=True, showfliers=False,
                       manage_ticks=False, medianprops={"color": "black"}, whis=(0, 100))
    for box in boxes["boxes"]:
        box.set_facecolor(colour)
        box.set_alpha(0.8)
    for position, sample in zip(positions, samples):
        if 0 < len(sample) <= few:
            ax.plot(position + rng.uniform(-0.06, 0.06, len(sample)), sample, "o", color="black", markersize=2.5,
                    alpha=0.7)


def class_quartiles(ax, samples, colour, positions):
    """Per class a dot at the median and a bar over the quartiles: boxes of many classes would be slivers."""
    present = [i for i, sample in enumerate(samples) if len(sample)]
    if not present:
        return
    low, median, high = np.array([np.percentile(samples[i], [25, 50, 75]) for i in present]).T
    ax.errorbar(np.asarray(positions)[present], median, yerr=[median - low, high - median], fmt="o", color=colour,
                markersize=2.5, elinewidth=0.8)


def accuracy_figure(study, few=20):
    """Left: models per overall accuracy (counts); right: per class and condition, boxes (and dots when few), or
    above ANNOTATED_CLASSES classes medians and quartiles."""
    accuracy = study.values("accuracy")
    groups = by_condition(study, "accuracy")
    fig, (left, right) = plt.subplots(1, 2, figsize=(WIDTH, 4.6), gridspec_kw={"width_ratios": [1, 2.6]})
    per_model = accuracy.mean(axis=1)
    bins = histogram_bins(per_model)
    kinds = [(name, mask) for name, mask in (("clean", study.clean), ("swap", study.swap)) if mask.any()]
    left.hist([per_model[mask] for _, mask in kinds], bins=bins, color=[f"C{i}" for i in range(len(kinds))],
              label=[f"{name} ({mask.sum()} models)" for name, mask in kinds])  # side by side: no overlap
    left.yaxis.set_major_locator(MaxNLocator(integer=True))
    left.xaxis.set_major_locator(MaxNLocator(4))
    left.set_xlabel("test accuracy, all classes")
    left.set_ylabel("number of models")
    left.legend(loc="lower left", bbox_to_anchor=(0, 1.0), frameon=False)
    x = np.arange(len(study.classes))
    rng = np.random.default_rng(0)  # the dots' jitter: fixed, so equal inputs give equal bytes
    for i, (condition, offset) in enumerate(condition_offsets().items()):
        samples = [groups[name, condition] for name in study.classes]
        if len(study.classes) <= ANNOTATED_CLASSES:
            class_boxes(right, samples, f"C{i}", x + offset, rng, few)
        else:
            class_quartiles(right, samples, f"C{i}", x + offset)
        right.plot([], [], color=f"C{i}", linewidth=6, label=condition)
    class_ticks(right.xaxis, study.classes, WIDTH * 2.6 / 3.6 - 0.8, rotation=30, ha="right")
    right.set_ylabel("test accuracy of the class")
    right.legend(loc="lower left", ncol=3, bbox_to_anchor=(0, 1.0), frameon=False)
    fig.suptitle("Test accuracy of clean and swap models")
    fig.tight_layout()
    return fig


def confusion_groups(study, count=5):
    """(model mask, pair; None for the clean models) of the confusion grids: the clean models, then up to `count`
    swapped pairs, those the clean models already confuse most first (every pair in manifest order when there are
    no clean models)."""
    groups = [(study.clean, None)] if study.clean.any() else []
    pairs = list(dict.fromkeys(zip(study.manifest.class_a[study.swap], study.manifest.class_b[study.swap])))
    if study.clean.any() and len(pairs) > count:
        clean = study.mean_prob()[study.clean].mean(axis=0)
        index = {name: i for i, name in enumerate(study.classes)}
        pairs.sort(key=lambda pair: -(clean[index[pair[0]], index[pair[1]]] + clean[index[pair[1]], index[pair[0]]]))
    for a, b in pairs[:count]:
        groups.append(((study.swap & (study.manifest.class_a == a) & (study.manifest.class_b == b)).to_numpy(), (a, b)))
    return groups


def group_title(mask, pair, inches):
    """A confusion grid's title: its condition (split after the arrow where wider than `inches`), its models."""
    condition = "clean" if pair is None else one_or_two_lines(f"{pair[0]} \u2194", f"{pair[1]} swapped", inches, 10)
    return f"{condition}\n({mask.sum()} models)"


def ring_pair(ax, classes, pair):
    """Square the swapped pair's two confusion cells, too small to find by eye in a grid of many classes: a square
    a cell wide, or a few cells wide around it in a grid of a hundred."""
    a, b = classes.index(pair[0]), classes.index(pair[1])
    span = max(1.0, len(classes) / 25)
    for row, column in ((a, b), (b, a)):
        ax.add_patch(Rectangle((column - span / 2, row - span / 2), span, span, fill=False, edgecolor="C3",
                               linewidth=1.2))


def confusion_figure(study, count=5):
    """Mean predicted probability, true class (rows) by predicted class (columns), per condition: percentages in
    the cells up to ANNOTATED_CLASSES classes; beyond, two grids a row and the swapped pair's cells squared."""
    mean_prob = study.mean_prob()  # [m, i, j]: mean probability of class i over test images of class j
    groups = confusion_groups(study, count)
    annotated = len(study.classes) <= ANNOTATED_CLASSES
    columns = min(3 if annotated else 2, len(groups))
    rows = int(np.ceil(len(groups) / columns))
    names = names_room(study.classes, 9)
    side = (WIDTH - 1.2 - names) / columns - 0.3  # a grid's side in inches: the width less colour bar and names
    # a row of grids with its titles (up to three lines), the slanted names below and their axis label
    height = 3.9 if annotated else side + 0.9 + 0.87 * names
    fig, axes = plt.subplots(rows, columns, figsize=(WIDTH, height * rows + 0.6), squeeze=False, sharey=True,
                             layout="constrained")
    norm = PowerNorm(0.5, 0, 1)
    title_room = side + 0.3
    for ax, (mask, pair) in zip(axes.flat, groups):
        grid = mean_prob[mask].mean(axis=0).T  # rows: true class, columns: predicted class
        image = ax.imshow(grid, cmap="Blues", norm=norm)
        if annotated:
            for (row, column), value in np.ndenumerate(grid):
                ax.text(column, row, f"{100 * value:.0f}", ha="center", va="center", fontsize=MIN_FONT,
                        color="white" if value > 0.3 else "black")
        elif pair is not None:
            ring_pair(ax, study.classes, pair)
        ax.set_title(group_title(mask, pair, title_room), fontsize=10)
        class_ticks(ax.xaxis, study.classes, side, rotation=60, ha="right", rotation_mode="anchor")
        class_ticks(ax.yaxis, study.classes, side)
        ax.set_xlabel("predicted class")
    for ax in axes.flat[len(groups):]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel("true class")
    fig.suptitle("Confusion: mean predicted probability" + (" (%)" if annotated else "") + " per true class")
    fig.colorbar(image, ax=axes, label="mean predicted probability", shrink=0.8 if annotated else 0.5,
                 ticks=[0, 0.05, 0.2, 0.5, 1])
    return fig


def training_figure(curves):
    """Training loss; training accuracy (solid) and test accuracy (dashed, where logged), per kind of model."""
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 4))
    colours = {"clean": "C0", "swap": "C1"}
    panels = ((axes[0], (("loss", "-", "training"),), "training loss"),
              (axes[1], (("accuracy", "-", "training labels"), ("test_accuracy", "--", "test set")), "accuracy"))
    for ax, metrics, ylabel in panels:
        for metric, style, label in metrics:
            for kind in colours:
                table = curves.get((kind, metric))
                if table is not None:
                    ax.plot(table["step"] + 1, table[metric], style, marker="o", markersize=3, color=colours[kind],
                            label=f"{kind}, {label}" if len(metrics) > 1 else kind)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(ylabel)
        ax.legend()
    fig.suptitle("Training curves (mean over models)")
    fig.tight_layout()
    return fig


def architecture_figure(network):
    """The study's network (lesion.model.networks) as a table: Keras builds it, so the figure can't drift from the
    code."""
    model = network.plain()
    rows = [[layer.name, type(layer).__name__, str(tuple(layer.output.shape[1:])), f"{layer.count_params():,}"]
            for layer in model.layers if type(layer).__name__ != "InputLayer"]
    rows.append(["total", "", "", f"{model.count_params():,}"])
    fig, ax = plt.subplots(figsize=(7, 0.42 * len(rows) + 0.9))
    ax.axis("off")
    table = ax.table(cellText=rows, colLabels=["layer", "type", "output shape", "parameters"], loc="center",
                     cellLoc="left", colLoc="left")
    table.auto_set_font_size(False)  # matplotlib would shrink the text below MIN_FONT to fit
    table.set_fontsize(10)
    table.scale(1, 1.5)
    for (row, _), cell in table.get_celld().items():
        if row == 0 or row == len(rows):
            cell.set_text_props(fontweight="bold")
    ax.set_title(f"{network.model} (input {'x'.join(map(str, network.image_shape))}, output {network.n_classes} "
                 "logits)")
    fig.tight_layout()
    return fig


def png_bytes(fig, dpi):
    """A figure as PNG bytes (written by the stage to plots/figures), the figure closed."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    return buffer.getvalue()
