"""Activation maximization on two trained models: the target logit rises, TV smooths, inversion error falls."""

import keras
import pytest
import numpy as np

from lesion.featvis.images import FourierImage, PixelImage
from lesion.featvis.maximization import ActivationMaximization
from lesion.featvis.modifiers import Jitter
from lesion.featvis.net import PackedNet
from lesion.featvis.regularizers import LpNorm, TotalVariation, total_variation
from lesion.featvis.scores import ActivationMatch, Channel
from lesion.model.networks import Network

TARGET = 3


def logits_of(net, weights, images):
    return keras.ops.convert_to_numpy(net(weights, images)["logits"])


def happy(weights, image, regularizers, steps=40):
    """Maximize class `target` of model 0 from 2 random starts; returns (start logits, final images, net)."""
    net = PackedNet(Network())
    weights = [w[:1] for w in weights]
    start = image.init(np.random.default_rng(0), (1, 2))
    objective = Channel(["logits"] * 2, [TARGET] * 2)
    images, _ = ActivationMaximization(net, image)(weights, objective, start, regularizers,
                                                           [Jitter(1)], steps=steps, learning_rate=0.05)
    return logits_of(net, weights, image(start)), images, net, weights


@pytest.mark.parametrize("image", [PixelImage((32, 32, 3)), FourierImage((32, 32, 3))], ids=["pixel", "fourier"])
def test_activation_maximization_raises_the_target_logit(blob_study, image):
    before, images, net, weights = happy(blob_study[1], image, [LpNorm(0.1), TotalVariation(0.1)])
    after = logits_of(net, weights, images)[0]
    assert (after[:, TARGET] > before[0, :, TARGET] + 10).all()
    assert (after[:, TARGET] > np.delete(after, TARGET, axis=1).max(axis=1) + 5).all()


def test_total_variation_penalty_smooths():
    net = PackedNet(Network())
    weights = [w[None] for w in Network().initial_weights(0)]  # untrained: smoothing must not hinge on learning
    image = PixelImage((32, 32, 3))
    start = image.init(np.random.default_rng(0), (1, 2))
    objective = Channel(["conv2"] * 2, [0, 1])
    runs = [ActivationMaximization(net, image)(weights, objective, start, [TotalVariation(w)],
                                                       steps=30)[0] for w in (0.0, 2.0)]
    plain, smooth = (keras.ops.convert_to_numpy(total_variation(images)) for images in runs)
    assert (smooth < 0.5 * plain).all()


def test_inversion_error_falls(blob_study):
    _, weights, x_test, _ = blob_study
    net = PackedNet(Network())
    items = np.repeat(x_test[:1] / np.float32(255), 2, axis=0)[None].repeat(2, axis=0)  # 2 models x 2 layers
    layers = ["conv2", "dense"]
    targets = {name: keras.ops.convert_to_numpy(a) for name, a in net(weights, items).items()}
    image = PixelImage((32, 32, 3))
    _, scores = ActivationMaximization(net, image)(
        weights, ActivationMatch(layers, targets), image.init(np.random.default_rng(0), (2, 2)),
        [TotalVariation(0.01)], steps=60)
    error = -scores
    assert (error[-1] < 0.3 * error[0]).all() and (error[-1] < 0.2).all()
