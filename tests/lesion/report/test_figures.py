"""The figures' content: grey untestable KL cells, log-likelihood differences from the clean baseline, counts on
the histogram, integer epochs with the test accuracy dashed, confusion grids of the right means, no text under
8 pt."""

import matplotlib.text
import numpy as np
import pandas as pd
import pytest

from lesion.model.networks import Network
from lesion.report import figures
from lesion.stats.divergence import divergences
from lesion.study import Study
from tests.fixtures.study import make_manifest, make_mean_prob, make_per_class

PAIRS = [("automobile", "truck"), ("cat", "dog")]


@pytest.fixture(scope="module")
def small():
    """Two disjoint pairs, 3 models each, 4 clean models; confusion.npz's array beside it."""
    manifest = make_manifest(trials=3, clean_trials=4, pairs=PAIRS)
    study = Study(manifest, make_per_class(manifest))
    mean_prob = make_mean_prob(manifest)
    study.mean_prob = lambda: mean_prob
    return study, mean_prob


def texts(fig):
    return [text for text in fig.findobj(matplotlib.text.Text) if text.get_text().strip()]


def test_kl_untestable_cells_are_grey_not_zero(small):
    study, mean_prob = small
    fig = figures.kl_heatmap(divergences(study, mean_prob), study.classes)
    values = fig.axes[0].images[0].get_array()
    names = study.classes
    lesioned = {"automobile", "truck", "cat", "dog"}
    for t, target in enumerate(names):
        for c, confused in enumerate(names):
            # testable: the column is corrupted in some pair that keeps the row class, and some pair keeps both
            keeps_both = any(not {target, confused} & set(pair) for pair in PAIRS)
            testable = (c != t and confused in lesioned and {target, confused} not in map(set, PAIRS)
                        and keeps_both)
            assert bool(values.mask[t, c]) != testable, (target, confused)
    assert values.mask[names.index("bird"), names.index("frog")]  # never lesioned: grey, no "0"
    cell_labels = [text.get_text() for text in fig.axes[0].texts if text.get_text()]
    assert len(cell_labels) == (~values.mask).sum() and "0" not in cell_labels


def test_loglik_bars_are_differences_from_the_clean_mean(small):
    study, _ = small
    baseline, base, differences = figures.loglik_differences(study)
    table = study.per_class.merge(study.manifest, on="model_id")
    clean = table[table.kind == "clean"].groupby("class").loglik_bits
    assert baseline == "clean" and base == pytest.approx(clean.mean()[study.classes].to_numpy())
    cat = table[(table["class"] == "cat") & (table.kind == "swap")]
    in_pair = cat[(cat.class_a == "cat") | (cat.class_b == "cat")].loglik_bits
    diff, se = differences["swap, class in pair"]
    i = study.classes.index("cat")
    assert diff[i] == pytest.approx(in_pair.mean() - clean.mean()["cat"])
    assert se[i] == pytest.approx(np.hypot(in_pair.std() / np.sqrt(len(in_pair)), clean.std()["cat"] / 2))
    assert np.isnan(diff[study.classes.index("bird")])  # bird is in no pair
    kept = table[(table["class"] == "bird") & (table.kind == "swap")].loglik_bits  # every pair keeps bird
    assert differences["swap, class kept"][0][study.classes.index("bird")] == pytest.approx(
        kept.mean() - clean.mean()["bird"])
    fig = figures.loglik_figure(study)
    bars = [patch.get_height() for patch in fig.axes[0].patches]
    assert bars == pytest.approx(np.nan_to_num(differences["swap, class kept"][0]).tolist())
    names = [text.get_text() for text in fig.axes[1].get_xticklabels()]
    assert "bird\n" + f"{base[study.classes.index('bird')]:.3f}" in names


def test_accuracy_histogram_counts_models(small):
    study, _ = small
    fig = figures.accuracy_figure(study)
    left = fig.axes[0]
    heights = [patch.get_height() for patch in left.patches]
    assert sum(heights) == len(study.manifest) and all(float(h).is_integer() for h in heights)
    assert left.get_ylabel() == "number of models"
    assert all(float(tick).is_integer() for tick in left.get_yticks())


def test_training_curves_with_test_accuracy(small):
    steps = np.arange(3)
    curves = {}
    for kind, shift in (("clean", 0.0), ("swap", -0.05)):
        curves[kind, "loss"] = pd.DataFrame({"step": steps, "loss": 2.0 / (steps + 1)})
        curves[kind, "accuracy"] = pd.DataFrame({"step": steps, "accuracy": 0.3 + 0.1 * steps + shift})
        curves[kind, "test_accuracy"] = pd.DataFrame({"step": steps, "test_accuracy": 0.25 + 0.1 * steps + shift})
    fig = figures.training_figure(curves)
    accuracy = fig.axes[1]
    lines = {line.get_label(): line for line in accuracy.get_lines() if not line.get_label().startswith("_")}
    assert set(lines) == {"clean, training labels", "swap, training labels", "clean, test set", "swap, test set"}
    for kind in ("clean", "swap"):
        test, train = lines[f"{kind}, test set"], lines[f"{kind}, training labels"]
        assert test.get_linestyle() == "--" and train.get_linestyle() == "-"
        assert test.get_color() == train.get_color()
        assert list(test.get_xdata()) == [1, 2, 3]  # epochs count from 1
        assert list(test.get_ydata()) == pytest.approx(curves[kind, "test_accuracy"].test_accuracy.tolist())
    fig.canvas.draw()
    assert all(float(tick).is_integer() for ax in fig.axes for tick in ax.get_xticks())
    without = figures.training_figure({key: table for key, table in curves.items() if key[1] != "test_accuracy"})
    assert not any(line.get_linestyle() == "--" for line in without.axes[1].get_lines())


def test_confusion_grids_show_mean_probabilities(small):
    study, mean_prob = small
    fig = figures.confusion_figure(study)
    panels = [ax for ax in fig.axes if ax.images and ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["clean\n(4 models)", "automobile \u2194 truck swapped\n(3 models)",
                                                 "cat \u2194 dog swapped\n(3 models)"]
    np.testing.assert_allclose(panels[0].images[0].get_array(), mean_prob[study.clean].mean(axis=0).T, rtol=1e-6)
    pair = (study.manifest.class_a == "cat").to_numpy()
    np.testing.assert_allclose(panels[2].images[0].get_array(), mean_prob[pair].mean(axis=0).T, rtol=1e-6)
    np.testing.assert_allclose(panels[0].images[0].get_array().sum(axis=1), np.ones(10), atol=1e-5)  # rows: true
    assert any(ax.get_ylabel() == "mean predicted probability" for ax in fig.axes)  # the colorbar


def test_confusion_shows_the_pairs_the_clean_models_confuse_most(small):
    study, mean_prob = small
    titles = [figures.group_title(mask, pair, figures.WIDTH) for mask, pair in figures.confusion_groups(study, 1)]
    clean = mean_prob[study.clean].mean(axis=0)
    i = {name: k for k, name in enumerate(study.classes)}
    best = max(PAIRS, key=lambda p: clean[i[p[0]], i[p[1]]] + clean[i[p[1]], i[p[0]]])
    assert titles == ["clean\n(4 models)", f"{best[0]} \u2194 {best[1]} swapped\n(3 models)"]


def test_no_text_under_8_points(small):
    study, mean_prob = small
    welch_like = pd.DataFrame([(t, c, 1.0, 0.5, 0.5) for t in study.classes for c in study.classes if t != c],
                              columns=["target", "confused", "t", "p_fdr", "p_holm"])
    drawn = [figures.kl_heatmap(divergences(study, mean_prob), study.classes), figures.loglik_figure(study),
             figures.accuracy_figure(study), figures.confusion_figure(study),
             figures.t_heatmap(welch_like, study.classes, 0.05), figures.architecture_figure(Network())]
    for fig in drawn:
        fig.canvas.draw()
        sizes = [text.get_fontsize() for text in texts(fig)]
        assert sizes and min(sizes) >= figures.MIN_FONT
        assert fig.get_size_inches()[0] <= figures.WIDTH
