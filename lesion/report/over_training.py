"""Figures of the effects over training (metrics/effects_by_epoch.csv): the strongest effects' trajectories, and
the specific-effect heatmap as small multiples, one per evaluated epoch."""

import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import Normalize
from matplotlib.ticker import MaxNLocator

from lesion.report.figures import (TITLE_SIZE, UNTESTABLE, WIDTH, class_ticks, matrix, names_room,
                                   one_or_two_lines)


def grid(panels, most_columns=3):
    """(rows, columns) of a small-multiples grid with as few empty slots as the column limit allows (4 -> 2 x 2)."""
    rows = math.ceil(panels / most_columns)
    return rows, math.ceil(panels / rows)


def lowest_in_column(index, columns, panels):
    """Whether panel `index` of a grid filled row by row has no panel below it: it carries the x axis' labels."""
    return index + columns >= panels


def strongest(by_epoch, alpha, count):
    """(target, confused) of the `count` strongest effects at the last epoch: significant ones first, then by size."""
    last = by_epoch[by_epoch.epoch == by_epoch.epoch.max()].dropna(subset=["specific_bits"])
    ranked = last.assign(significant=last.specific_p_fdr < alpha, size=last.specific_bits.abs())
    ranked = ranked.sort_values(["significant", "size"], ascending=False, kind="stable")
    return list(zip(ranked.target, ranked.confused))[:count]


def trajectories_figure(by_epoch, alpha, count=6):
    """One panel per strong effect: its specific effect (bits) and 95% interval after each evaluated epoch; filled
    dots where it is significant at the FDR alpha in that epoch. One y scale for all, so sizes compare at a glance."""
    effects = strongest(by_epoch, alpha, count)
    rows, columns = grid(len(effects))
    fig, axes = plt.subplots(rows, columns, figsize=(WIDTH, 2.9 * rows + 0.6), sharex=True, sharey=True,
                             squeeze=False)
    for ax, (target, confused) in zip(axes.flat, effects):
        cell = by_epoch[(by_epoch.target == target) & (by_epoch.confused == confused)].sort_values("epoch")
        ax.fill_between(cell.epoch, cell.specific_lo, cell.specific_hi, color="C0", alpha=0.2, linewidth=0)
        ax.plot(cell.epoch, cell.specific_bits, color="C0")
        significant = (cell.specific_p_fdr < alpha).to_numpy()
        ax.plot(cell.epoch[significant], cell.specific_bits[significant], "o", color="C0", markersize=5)
        ax.plot(cell.epoch[~significant], cell.specific_bits[~significant], "o", color="white",
                markeredgecolor="C0", markersize=5)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_title(one_or_two_lines(target, f"\u2190 {confused}", WIDTH / columns - 0.6, TITLE_SIZE))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in axes.flat[len(effects):]:
        ax.axis("off")
    for index, ax in enumerate(axes.flat[:len(effects)]):
        if lowest_in_column(index, columns, len(effects)):
            ax.set_xlabel("epoch")
            ax.xaxis.set_tick_params(labelbottom=True)
    for ax in axes[:, 0]:
        ax.set_ylabel("specific effect (bits)")
    fig.suptitle("The strongest effects over training, target \u2190 lesioned class (> 0: learning it helps the "
                 "target;\nfilled: significant at the FDR alpha in that epoch)")
    fig.tight_layout()
    return fig


def shown_epochs(epochs, most=6):
    """At most `most` of the evaluated epochs, evenly spread, the first and the last among them."""
    epochs = sorted(epochs)
    if len(epochs) <= most:
        return epochs
    return [epochs[i] for i in sorted(set(np.linspace(0, len(epochs) - 1, most).round().astype(int)))]


def epoch_heatmaps(by_epoch, classes, alpha):
    """The specific-effect heatmap after each shown epoch, on one colour scale; a dot marks a significant cell."""
    epochs = shown_epochs(set(by_epoch.epoch))
    values = {epoch: matrix(by_epoch[by_epoch.epoch == epoch], "specific_bits", classes) for epoch in epochs}
    limit = max(1e-3, max(float(np.nanmax(np.abs(v), initial=0)) for v in values.values()))
    rows, columns = grid(len(epochs))
    names = max(0.0, names_room(classes) - 0.8)  # room for names longer than the row leaves them (CIFAR-100's)
    fig, axes = plt.subplots(rows, columns, figsize=(WIDTH, 3.4 * rows + 0.6 + names), squeeze=False,
                             layout="constrained")
    cmap = plt.get_cmap("RdBu").with_extremes(bad=UNTESTABLE)
    # a heatmap's side in inches: its share of the width less the colour bar and the rows' names, or a row's height
    side = min((WIDTH - 1.2 - names_room(classes, 9)) / columns, 2.6)
    for index, (ax, epoch) in enumerate(zip(axes.flat, epochs)):
        image = ax.imshow(np.ma.masked_invalid(values[epoch]), cmap=cmap, norm=Normalize(-limit, limit))
        significant = matrix(by_epoch[by_epoch.epoch == epoch], "specific_p_fdr", classes) < alpha
        rows_at, columns_at = np.nonzero(significant)
        ax.plot(columns_at, rows_at, "o", color="white", markeredgecolor="black", markersize=4)
        ax.set_title(f"after epoch {epoch}")
        class_ticks(ax.xaxis, classes, side, lowest_in_column(index, columns, len(epochs)), rotation=60, ha="right")
        class_ticks(ax.yaxis, classes, side, ax in axes[:, 0])
    for ax in axes.flat[len(epochs):]:
        ax.axis("off")
    fig.colorbar(image, ax=axes, label="specific effect (bits; > 0: helps)", shrink=0.9)
    fig.suptitle("Specific effects after each epoch (rows: target, columns: confused; dot: significant)")
    return fig
