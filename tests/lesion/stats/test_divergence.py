"""KL and JS divergences in bits against hand computations, over the right models."""

import math

import numpy as np
import pytest

from lesion.stats.divergence import divergences, js_bits, kl_bits
from lesion.stats.welch import welch_tests
from lesion.study import Study
from tests.fixtures.study import CIFAR100_CLASSES, make_manifest, make_mean_prob, make_per_class, sampled_pairs


def test_kl_and_js_hand_computed():
    # D([1/2, 1/2] || [1/4, 3/4]) = 1/2 log2(2) + 1/2 log2(2/3)
    assert kl_bits([0.5, 0.5], [0.25, 0.75]) == pytest.approx(0.5 + 0.5 * math.log2(2 / 3))
    assert kl_bits([0.3, 0.7], [0.3, 0.7]) == 0
    assert js_bits([1.0, 0.0], [0.0, 1.0]) == pytest.approx(1.0)
    # M = [3/8, 5/8]: JS = 1/2 (1/2 log2(4/3) + 1/2 log2(4/5)) + 1/2 (1/4 log2(2/3) + 3/4 log2(6/5))
    expected = 0.25 * math.log2(4 / 3) + 0.25 * math.log2(4 / 5) + 0.125 * math.log2(2 / 3) + 0.375 * math.log2(1.2)
    assert js_bits([0.5, 0.5], [0.25, 0.75]) == pytest.approx(expected)


def test_divergences_use_the_right_models():
    manifest = make_manifest(trials=2, clean_trials=2, pairs=[("cat", "dog"), ("bird", "frog"), ("ship", "truck")])
    mean_prob = make_mean_prob(manifest)
    table = divergences(Study(manifest, make_per_class(manifest)), mean_prob).set_index(["target", "confused"])
    # target airplane (0), confused cat: P over (bird, frog) and (ship, truck) models, Q over all six swap models.
    p = mean_prob[4:8, :, 0].astype(float).mean(axis=0)
    q = mean_prob[2:8, :, 0].astype(float).mean(axis=0)
    row = table.loc[("airplane", "cat")]
    assert row.kl_bits == pytest.approx(kl_bits(p / p.sum(), q / q.sum()))
    assert row.js_bits == pytest.approx(js_bits(p / p.sum(), q / q.sum()))
    assert 0 < row.kl_bits and 0 < row.js_bits < 1
    never = table.xs("horse", level="confused")  # never lesioned: P and Q are the same models, nothing to compare
    assert never.kl_bits.isna().all() and never.js_bits.isna().all()
    # With (cat, dog) the only pair, every swap model that kept airplane lost cat: P is undefined.
    manifest = make_manifest(trials=2, clean_trials=2, pairs=[("cat", "dog")])
    only = divergences(Study(manifest, make_per_class(manifest)), make_mean_prob(manifest))
    row = only.set_index(["target", "confused"]).loc[("airplane", "cat")]
    assert math.isnan(row.kl_bits) and math.isnan(row.js_bits)


def test_a_sampled_100_class_study_compares_exactly_the_cells_welch_can():
    """KL is defined where both of Welch's samples have a model: some swap model lost C but not T, one neither."""
    pairs = sampled_pairs(CIFAR100_CLASSES, 30)
    manifest = make_manifest(trials=1, clean_trials=2, pairs=pairs, classes=CIFAR100_CLASSES)
    study = Study(manifest, make_per_class(manifest, classes=CIFAR100_CLASSES, planted={}))
    table = divergences(study, make_mean_prob(manifest, n_classes=100))
    welch = welch_tests(study, {"seed": 0, "bootstrap": 2})
    assert len(table) == 9900 and list(table.target) == list(welch.target)
    np.testing.assert_array_equal(table.kl_bits.isna(), (welch.n_a == 0) | (welch.n_b == 0))
    defined = sum(any(c in pair and t not in pair for pair in pairs) and any(not {t, c} & set(pair) for pair in pairs)
                  for t in CIFAR100_CLASSES for c in CIFAR100_CLASSES if c != t)
    assert (table.kl_bits.dropna() > 0).all() and table.kl_bits.notna().sum() == defined < 9900 / 2
