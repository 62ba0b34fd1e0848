"""The evaluation core: the study's binary log-likelihood against a hand computation; predictions as evaluated;
each confusion cell's count and most confident images against a numpy ranking of the same predictions."""

import numpy as np
import pytest

from lesion import evaluation
from lesion.evaluation import EPSILON, PackEvaluator
from lesion.model.networks import Network


def test_loglik_bits_matches_hand_computation():
    """Zero weights but the logits bias make every prediction the same known distribution."""
    probs = np.array([0.7, 0.2, 0.1] + [1e-9] * 7)
    weights = [np.zeros((1,) + s, np.float32) for s in
               [(3, 3, 3, 32), (32,), (3, 3, 32, 64), (64,), (3, 3, 64, 64), (64,), (1024, 64), (64,), (64, 10), (10,)]]
    weights[9][0] = np.log(probs / probs.sum())
    y_test = np.array([0, 0, 1, 2])
    x_test = np.zeros((4, 32, 32, 3), np.uint8)
    result = PackEvaluator(Network(), 1).evaluate(weights, x_test, y_test)
    loglik, accuracy, mean_prob = result.loglik, result.accuracy, result.mean_prob
    p = np.clip(probs / probs.sum(), EPSILON, 1 - EPSILON)
    expected_0 = (2 * np.log2(p[0]) + 2 * np.log2(1 - p[0])) / 4  # two images of class 0, two others
    expected_1 = (np.log2(p[1]) + 3 * np.log2(1 - p[1])) / 4
    expected_5 = 4 * np.log2(1 - p[5]) / 4  # no image of class 5
    np.testing.assert_allclose(loglik[0, [0, 1, 5]], [expected_0, expected_1, expected_5], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(accuracy[0, :3], [1, 0, 0])  # everything is predicted as class 0
    np.testing.assert_allclose(mean_prob[0, :3, 0], p[:3], rtol=1e-4)


def test_predictions_are_what_evaluation_sums():
    """`predict` gives the probabilities behind mean_prob."""

    rng = np.random.default_rng(0)
    weights = Network().initial_pack_weights([3, 4])
    x_test = rng.integers(0, 256, (30, 32, 32, 3), dtype=np.uint8)
    y_test = np.arange(30) % 10
    evaluator = PackEvaluator(Network(), 2)
    probs = evaluator.predict(weights, x_test)
    result = evaluator.evaluate(weights, x_test, y_test)
    accuracy, mean_prob = result.accuracy, result.mean_prob
    assert probs.shape == (2, 30, 10)
    for j in range(10):
        np.testing.assert_allclose(probs[:, y_test == j].mean(axis=1), mean_prob[:, :, j], rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose((probs[:, y_test == j].argmax(-1) == j).mean(axis=1), accuracy[:, j])


def ranked_cells(probs, y_test, n_classes, top):
    """numpy's answer: per model and cell (true t, predicted p), the count and the `top` images of the cell by
    probability of p, highest first, ties to the lower index; -1 and 0 past the count."""
    models = len(probs)
    count = np.zeros((models, n_classes, n_classes), np.int32)
    index = np.full((models, n_classes, n_classes, top), -1)
    prob = np.zeros((models, n_classes, n_classes, top))
    for m in range(models):
        predicted = probs[m].argmax(-1)
        for t in range(n_classes):
            for p in range(n_classes):
                members = np.flatnonzero((y_test == t) & (predicted == p))
                count[m, t, p] = len(members)
                ranked = members[np.lexsort((members, -probs[m, members, p]))][:top]
                index[m, t, p, : len(ranked)] = ranked
                prob[m, t, p, : len(ranked)] = probs[m, ranked, p]
    return count, index, prob


@pytest.fixture
def small_batches(monkeypatch):
    """Seven images per compiled call for two copies: classes span several batches and the last one is padded."""
    monkeypatch.setattr(evaluation, "IMAGES_PER_STEP", 14)


def test_each_cell_holds_its_count_and_most_confident_images(small_batches):
    rng = np.random.default_rng(1)
    weights = Network().initial_pack_weights([7, 8])
    weights[-1] = rng.normal(0, 0.3, weights[-1].shape).astype(np.float32)  # predictions spread over the classes
    weights[-2] = rng.normal(0, 0.3, weights[-2].shape).astype(np.float32)
    x_test = rng.integers(0, 256, (120, 32, 32, 3), dtype=np.uint8)
    y_test = rng.choice(10, 120, p=np.r_[0.3, 0.2, [0.0625] * 8])  # unequal classes, most much larger than a batch
    evaluator = PackEvaluator(Network(), 2)
    assert evaluator.batch_size(y_test) == 7
    probs = evaluator.predict(weights, x_test)
    result = evaluator.evaluate(weights, x_test, y_test, top=4)
    count, index, prob = ranked_cells(probs, y_test, 10, 4)
    assert count.sum() == 240 and (count.sum(axis=2) == np.bincount(y_test, minlength=10)).all()
    assert (count > 0).sum() >= 20 and count.max() > 4  # many cells filled, some with more than 4 images
    np.testing.assert_array_equal(result.count, count)
    np.testing.assert_array_equal(result.top_index, index)
    np.testing.assert_allclose(result.top_prob, prob, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(np.diagonal(count, axis1=1, axis2=2) / np.bincount(y_test, minlength=10),
                               result.accuracy)
    plain = evaluator.evaluate(weights, x_test, y_test)  # the train stage's per-epoch call: no cells, same numbers
    assert plain.top_index.shape == (2, 10, 10, 0)
    for name in ("loglik", "accuracy", "mean_prob", "count"):
        np.testing.assert_array_equal(getattr(plain, name), getattr(result, name), err_msg=name)

