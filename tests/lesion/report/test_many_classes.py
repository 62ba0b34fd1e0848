"""Figures of studies of 10, 20 and 100 classes, the last two with sampled pairs: every class x class grid keeps
all its cells, grey (masked) where no data reach, numbers in the cells only up to ANNOTATED_CLASSES classes (marks
as dots beyond), no two tick names overlapping, no text under 8 pt and no figure wider than WIDTH."""

import itertools

import matplotlib.pyplot as plt
import matplotlib.text
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import EllipseCollection
from matplotlib.patches import Rectangle

from lesion.report import decoding, figures, over_training
from lesion.stats.divergence import divergences
from lesion.stats.lesion_model import lesion_effects
from lesion.stats.welch import welch_tests
from lesion.study import Study
from tests.fixtures.cifar import CLASS_NAMES
from tests.fixtures.study import (CIFAR100_CLASSES, SUPERCLASSES, make_manifest, make_mean_prob, make_per_class,
                                  pairs_with_a_triangle)

PARAMS = {"alpha": 0.05, "seed": 0, "null_draws": 100, "permutations": 10, "bootstrap": 10}
STUDIES = {10: (CLASS_NAMES, None), 20: (SUPERCLASSES, 40), 100: (CIFAR100_CLASSES, 60)}


@pytest.fixture(scope="module", params=sorted(STUDIES), ids=lambda n: f"{n}_classes")
def study(request):
    """(study, specific effects, Welch table, KL table) of 2 models a pair and 3 clean models; learning class 1 (in
    the triangle of pairs) helps class 3 by 0.1 bits."""
    classes, count = STUDIES[request.param]
    pairs = pairs_with_a_triangle(classes, count) if count else None
    manifest = make_manifest(trials=2, clean_trials=3, pairs=pairs, classes=classes)
    study = Study(manifest, make_per_class(manifest, classes=classes, planted={(classes[3], classes[1]): 0.1}))
    mean_prob = make_mean_prob(manifest, n_classes=len(classes))
    study.mean_prob = lambda: mean_prob
    return study, lesion_effects(study, PARAMS), welch_tests(study, PARAMS), divergences(study, mean_prob)


def drawn(study):
    """Every figure of the study's classes that the plots stage draws from its tables."""
    study, effects, welch, kl = study
    alpha = PARAMS["alpha"]
    by_epoch = pd.concat([effects.assign(epoch=1), effects.assign(epoch=3)], ignore_index=True)
    pairs = np.array(sorted(set(study.conditions[study.swap])))
    rng = np.random.default_rng(0)
    decoded = {"confusion": rng.integers(0, 3, (len(pairs), len(pairs))), "pairs": pairs,
               "conditions": study.conditions, "embedding": rng.normal(size=(len(study.conditions), 2)),
               "explained_variance": np.array([0.3, 0.2])}
    metrics = {"confusion_from": "logits", "chance": 0.1, "feature_sets": {"logits": {"accuracy": 0.5}}}
    return {"specific_heatmap": figures.specific_heatmap(effects, study.classes, alpha),
            "t_heatmap": figures.t_heatmap(welch, study.classes, alpha),
            "kl_heatmap": figures.kl_heatmap(kl, study.classes), "forest": figures.forest_figure(effects),
            "loglik": figures.loglik_figure(study), "accuracy": figures.accuracy_figure(study),
            "confusion": figures.confusion_figure(study),
            "epoch_heatmaps": over_training.epoch_heatmaps(by_epoch, study.classes, alpha),
            "trajectories": over_training.trajectories_figure(by_epoch, alpha),
            "weight_confusion": decoding.confusion_figure(decoded, metrics),
            "weight_embedding": decoding.embedding_figure(decoded)}


@pytest.fixture(scope="module")
def figures_of(study):
    plt.close("all")  # earlier tests' figures
    drawings = drawn(study)
    for fig in drawings.values():
        fig.canvas.draw()
    yield drawings
    plt.close("all")


def test_grids_keep_every_class_and_grey_cells_where_no_data_reach(study, figures_of):
    study, effects, welch, kl = study
    n = len(study.classes)
    for name, table, column in (("specific_heatmap", effects, "specific_bits"), ("t_heatmap", welch, "t"),
                                ("kl_heatmap", kl, "kl_bits")):
        ax = figures_of[name].axes[0]
        values = ax.images[0].get_array()
        expected = figures.matrix(table, column, study.classes)
        assert values.shape == (n, n), name
        np.testing.assert_array_equal(values.mask, np.isnan(expected), err_msg=name)
        assert 0 < values.count() <= n * (n - 1) and (n == 10 or values.count() < n * (n - 1)), name  # sampled: gaps
        assert bool(ax.texts) == (n == 10), name  # numbers in a 10-class grid's cells, not in a larger one's
    lesioned = set(study.manifest.class_a[study.swap]) | set(study.manifest.class_b[study.swap])
    never = [study.classes.index(name) for name in study.classes if name not in lesioned]
    specific = figures_of["specific_heatmap"].axes[0].images[0].get_array()
    assert specific.mask[:, never].all() and (n < 100 or len(never) > 10)  # never lesioned: a grey column


def test_marks_are_dots_in_a_grid_of_many_classes(study, figures_of):
    study, effects, _, _ = study
    significant = int((effects.specific_p_fdr < PARAMS["alpha"]).sum())
    interval = int(((effects.specific_lo > 0) | (effects.specific_hi < 0)).sum()) - significant
    dots = [len(c.get_offsets()) for c in figures_of["specific_heatmap"].axes[0].collections
            if isinstance(c, EllipseCollection)]
    if len(study.classes) == 10:
        assert dots == []  # a 10-class grid writes its marks as text, in its numbered cells
        return
    assert dots == [significant, interval] and significant >= 1  # filled, then hollow; the planted effect at least
    rings = [p for ax in figures_of["confusion"].axes for p in ax.patches if isinstance(p, Rectangle)]
    assert len(rings) == 2 * (len(figures_of["confusion"].axes) - 2)  # two per pair panel (not clean, not colour bar)


def tick_names(axis):
    """The names the axis draws: of its major ticks inside the view, visible and not empty."""
    low, high = sorted(axis.get_view_interval())
    return [tick.label1 for location, tick in zip(axis.get_majorticklocs(), axis.get_major_ticks())
            if low - 1e-9 <= location <= high + 1e-9 and tick.label1.get_visible() and tick.label1.get_text()]


def drawn_texts(fig):
    """Every text the figure draws: tick names inside the view, and every other visible non-empty text."""
    axes = [axis for ax in fig.axes for axis in (ax.xaxis, ax.yaxis)]
    ticks = {id(label) for axis in axes for label in axis.get_ticklabels(which="both")}
    others = [text for text in fig.findobj(matplotlib.text.Text)
              if id(text) not in ticks and text.get_visible() and text.get_text().strip()]
    return others + [label for axis in axes for label in tick_names(axis)]


def crowded(labels, renderer, dpi):
    """Neighbouring names that touch. Upright or vertical names: their boxes overlap. Slanted names lie parallel, so
    their boxes overlap anyway: they touch where their distance across the slant is under their font size."""
    angle = labels[0].get_rotation() % 180 if labels else 0
    boxes = [label.get_window_extent(renderer) for label in labels]
    if angle in (0, 90):
        return [(a.get_text(), b.get_text()) for (a, box_a), (b, box_b)
                in itertools.combinations(zip(labels, boxes), 2) if box_a.overlaps(box_b)]
    edges = sorted(box.x1 for box in boxes)
    across = np.diff(edges) * np.sin(np.radians(angle))
    return [(labels[0].get_text(), gap) for gap in across if gap < labels[0].get_fontsize() * dpi / 72]


def test_no_two_tick_names_overlap(study, figures_of):
    study = study[0]
    for name, fig in figures_of.items():
        renderer = fig.canvas.get_renderer()
        for ax in fig.axes:
            for axis in (ax.xaxis, ax.yaxis):
                assert not crowded(tick_names(axis), renderer, fig.dpi), (name, axis.axis_name)
    heatmap = figures_of["t_heatmap"].axes[0]
    named = tick_names(heatmap.yaxis)
    n = len(study.classes)
    assert len(named) == n if n <= 20 else n // 4 <= len(named) < n  # every n-th class named only when needed
    assert len(named) + len(heatmap.yaxis.get_minorticklocs()) == (n if len(named) < n else len(named))


def test_no_text_under_8_points_no_figure_wider_than_width(figures_of):
    for name, fig in figures_of.items():
        assert min(text.get_fontsize() for text in drawn_texts(fig)) >= figures.MIN_FONT, name
        assert fig.get_size_inches()[0] <= figures.WIDTH, name


def test_text_stays_inside_the_figure(figures_of):
    for name, fig in figures_of.items():
        renderer, frame = fig.canvas.get_renderer(), fig.bbox
        for text in drawn_texts(fig):
            box = text.get_window_extent(renderer)
            assert box.x0 >= -1 and box.y0 >= -1 and box.x1 <= frame.x1 + 1 and box.y1 <= frame.y1 + 1, (
                name, text.get_text())
