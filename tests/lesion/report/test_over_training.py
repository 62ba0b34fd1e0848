"""Small multiples of the effects over training: a balanced grid, and every column's lowest panel labelled."""

import itertools

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from lesion.report.over_training import epoch_heatmaps, grid, trajectories_figure

CLASSES = ["airplane", "automobile", "bird"]


@pytest.mark.parametrize("panels, shape", [(1, (1, 1)), (2, (1, 2)), (3, (1, 3)), (4, (2, 2)), (5, (2, 3)),
                                           (6, (2, 3)), (7, (3, 3))])
def test_the_grid_leaves_as_few_slots_empty_as_three_columns_allow(panels, shape):
    assert grid(panels) == shape


def by_epoch(epochs):
    rows = [(epoch, target, confused, 0.01 * epoch * (i + 1), -0.01, 0.03, 0.5 if epoch < 3 else 0.01)
            for epoch in epochs for i, (target, confused) in enumerate(itertools.permutations(CLASSES, 2))]
    return pd.DataFrame(rows, columns=["epoch", "target", "confused", "specific_bits", "specific_lo", "specific_hi",
                                       "specific_p_fdr"])


def labelled(ax):
    return [label.get_text() for label in ax.get_xticklabels() if label.get_visible() and label.get_text()]


def test_each_column_of_epoch_heatmaps_names_its_classes_under_its_lowest_panel():
    figure = epoch_heatmaps(by_epoch([1, 2, 3, 4, 5]), CLASSES, 0.05)
    panels = [ax for ax in figure.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == [f"after epoch {e}" for e in range(1, 6)]
    # 2 x 3: epochs 4 and 5 fill the lower row's first two slots, epoch 3 has nothing below it
    assert [bool(labelled(ax)) for ax in panels] == [False, False, True, True, True]
    assert labelled(panels[2]) == CLASSES
    plt.close(figure)


def test_trajectories_share_one_scale_and_mark_the_significant_epochs():
    figure = trajectories_figure(by_epoch([1, 2, 3, 4]), 0.05, count=4)
    panels = [ax for ax in figure.axes if ax.get_title()]
    assert len({ax.get_ylim() for ax in panels}) == 1
    filled = panels[0].lines[1]  # the line, then the filled (significant) dots
    assert filled.get_xdata().tolist() == [3, 4]
    assert all(ax.get_xlabel() == "epoch" for ax in panels[2:]) and not panels[0].get_xlabel()
    plt.close(figure)
