"""Weight features ignore the order of hidden units; a strong planted lesion is decoded from the layer that holds
it, and neither the shuffled pairs nor the layers without it decode it."""

import numpy as np
import pytest

from lesion.decoding.decoder import decode, readable_from
from lesion.decoding.decoder import ALL
from lesion.decoding.features import layer_features
from lesion.errors import InputError
from lesion.model.networks import Network
from lesion.study import model_conditions
from tests.fixtures.weights import lesioned_study

PARAMS = {"folds": 5, "permutations": 19, "seed": 0}
LAYERS = Network().kernel_layers


def permuted_hidden_units(weights, rng):
    """The same networks with conv2's and dense's units reordered (and the next layer's inputs with them)."""
    w = [array.copy() for array in weights]
    conv2, dense = rng.permutation(64), rng.permutation(64)
    w[2], w[3], w[4] = w[2][..., conv2], w[3][:, conv2], w[4][:, :, :, conv2, :]
    w[6], w[7], w[8] = w[6][..., dense], w[7][:, dense], w[8][:, dense, :]
    return w


def test_features_do_not_depend_on_the_order_of_hidden_units():
    weights = Network().initial_pack_weights([1, 2])
    weights[3] = np.random.default_rng(0).normal(size=weights[3].shape).astype(np.float32)  # biases that differ
    before = layer_features(weights, LAYERS)
    after = layer_features(permuted_hidden_units(weights, np.random.default_rng(1)), LAYERS)
    assert list(before) == LAYERS == ["conv1", "conv2", "conv3", "dense", "logits"]
    for layer in LAYERS:
        np.testing.assert_allclose(after[layer], before[layer], rtol=1e-9, atol=1e-12)
    assert not np.allclose(before["conv2"][0], before["conv2"][1])  # two models' features differ


def test_logits_features_by_hand():
    weights = Network().initial_pack_weights([3])
    kernel, bias = weights[8][0].astype(np.float64), np.arange(10.0)
    weights[9] = bias[None].astype(np.float32)
    features = layer_features(weights, LAYERS)["logits"][0]
    spectrum = np.linalg.svd(kernel, compute_uv=False)
    norms = np.linalg.norm(kernel, axis=0)
    cosine = (kernel[:, 0] @ kernel[:, 1]) / (norms[0] * norms[1])
    assert len(features) == 10 + 5 + 10 + 10 + 45
    np.testing.assert_allclose(features[:10], spectrum, rtol=1e-6)
    np.testing.assert_allclose(features[10:15], np.quantile(bias, [0, 0.25, 0.5, 0.75, 1]))
    np.testing.assert_allclose(features[15:25], norms, rtol=1e-6)
    np.testing.assert_allclose(features[25:35], bias)
    assert features[35] == pytest.approx(cosine, rel=1e-6)


def test_a_strong_lesion_is_read_from_the_logits_and_not_from_shuffles_or_earlier_layers():
    manifest, weights = lesioned_study()
    metrics, arrays = decode(layer_features(weights, LAYERS), model_conditions(manifest), PARAMS)
    assert metrics["n_models"] == 30 and metrics["n_pairs"] == 3 and metrics["chance"] == pytest.approx(1 / 3)
    logits, conv1 = metrics["feature_sets"]["logits"], metrics["feature_sets"]["conv1"]
    assert logits["accuracy"] >= 0.9 and logits["permutation_max"] < 0.7 and logits["p"] == pytest.approx(1 / 20)
    assert metrics["feature_sets"]["all"]["accuracy"] > 1 / 3  # diluted by 400 features of noise, still above chance
    assert conv1["accuracy"] < 0.7 and conv1["p"] > 0.05  # conv1 holds no lesion: its decoder is a shuffle's equal
    assert metrics["readable_from"] == "logits"
    assert metrics["confusion_from"] == "logits"
    assert arrays["confusion"].sum() == 30 and np.trace(arrays["confusion"]) == round(30 * logits["accuracy"])
    assert list(arrays["pairs"]) == ["automobile/truck", "bird/frog", "cat/dog"]
    assert arrays["embedding"].shape == (34, 2) and arrays["conditions"][0] == "clean"


def test_readable_from_is_the_earliest_layer_of_an_unbroken_run_to_the_output():
    def results(*read):
        by_layer = {layer: {"accuracy": 0.9 if r else 0.2, "p": 0.05 if r else 0.4} for layer, r in zip(LAYERS, read)}
        return {**by_layer, ALL: {"accuracy": 0.9, "p": 0.05}}  # all features together never count as a layer

    assert readable_from(results(0, 1, 1, 1, 1), 0.1, 19) == "conv2"
    assert readable_from(results(1, 0, 1, 1, 1), 0.1, 19) == "conv3"
    assert readable_from(results(1, 1, 1, 1, 0), 0.1, 19) is None


def test_features_follow_the_network_of_the_pack():
    """top_down's layers, grey images' one colour channel and 20 classes' 190 class pairs."""
    network = Network("top_down", (28, 28, 1), 20)
    features = layer_features(network.initial_pack_weights([1, 2]), network.kernel_layers)
    assert list(features) == ["coarse1", "coarse2", "middle", "fine", "dense", "logits"]
    assert features["coarse1"].shape == (2, 9 + 5 + 2)  # 9 singular values of a 9 x 64 kernel, 5 quantiles, 1 channel
    assert features["logits"].shape == (2, 20 + 5 + 20 + 20 + 190)


def test_too_few_models_per_pair_is_one_error():
    manifest, weights = lesioned_study(trials=1)
    conditions = ["clean"] * 4 + [f"{a}/{b}" for a, b in manifest[["class_a", "class_b"]].to_numpy()[4:]]
    with pytest.raises(InputError, match=r"two or more pairs with two or more models each \(this study has 3 pairs, "
                                         r"the rarest with 1 models\): raise corrupt.trials or add pairs"):
        decode(layer_features(weights, LAYERS), conditions, PARAMS)
