"""The evaluation core: the study's binary log-likelihood against a hand computation; predictions as evaluated."""

import numpy as np

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
    loglik, accuracy, mean_prob = PackEvaluator(Network(), 1).evaluate(weights, x_test, y_test)
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
    _, accuracy, mean_prob = evaluator.evaluate(weights, x_test, y_test)
    assert probs.shape == (2, 30, 10)
    for j in range(10):
        np.testing.assert_allclose(probs[:, y_test == j].mean(axis=1), mean_prob[:, :, j], rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose((probs[:, y_test == j].argmax(-1) == j).mean(axis=1), accuracy[:, j])
