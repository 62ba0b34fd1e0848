"""KL and JS divergences in bits against hand computations, over the right models."""

import math

import pytest

from lesion.stats.divergence import divergences, js_bits, kl_bits
from lesion.study import Study
from tests.fixtures.study import make_manifest, make_mean_prob, make_per_class


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
    # With (cat, dog) the only pair, every swap model that kept airplane lost cat: P is undefined.
    manifest = make_manifest(trials=2, clean_trials=2, pairs=[("cat", "dog")])
    only = divergences(Study(manifest, make_per_class(manifest)), make_mean_prob(manifest))
    row = only.set_index(["target", "confused"]).loc[("airplane", "cat")]
    assert math.isnan(row.kl_bits) and math.isnan(row.js_bits)
