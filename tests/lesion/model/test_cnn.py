"""The study's networks: Keras' default initialization drawn from the model's own seed, the sizes the README
states, and the shapes each dataset gives them."""

import numpy as np
import pytest

from lesion.model.networks import Network, network_for


def test_initial_weights_follow_keras_defaults():
    network = Network()
    model = network.plain()
    weights = network.initial_weights(7)
    assert [w.shape for w in weights] == [tuple(w.shape) for w in model.get_weights()]
    assert model.count_params() == network.parameter_count == 122_570
    kernel = weights[2]  # conv2: fan_in 288, fan_out 576 -> Glorot limit sqrt(6/864)
    assert np.abs(kernel).max() <= np.sqrt(6 / 864) and np.abs(kernel).max() > 0.9 * np.sqrt(6 / 864)
    assert not weights[1].any()
    np.testing.assert_array_equal(network.initial_weights(7)[0], weights[0])


@pytest.mark.parametrize("network, parameters", [
    (Network(), 122_570),
    (Network("wide_cnn", width=2), 486_794),
    (Network("top_down"), 117_386),
    (Network("tutorial_cnn", (28, 28, 1), 10), 93_322),
    (Network("tutorial_cnn", (32, 32, 3), 100), 128_420),
])
def test_parameter_counts_follow_the_data_and_the_width(network, parameters):
    assert network.plain().count_params() == network.parameter_count == parameters
    assert network.weight_specs[-1][2] == (network.n_classes,)  # the logits' bias: one per class
    assert network.weight_specs[0][2][2] == network.image_shape[-1]  # the first kernel reads the image's channels


def test_wide_cnn_multiplies_every_hidden_layer_and_the_others_ignore_width():
    wide = Network("wide_cnn", width=2)
    assert [shape[-1] for _, kind, shape in wide.weight_specs if kind == "bias"] == [64, 128, 128, 128, 10]
    assert Network("tutorial_cnn", width=3) == Network()  # width is wide_cnn's alone
    train = {"model": "top_down", "width": 4}
    assert network_for(train, (28, 28, 1), 10) == Network("top_down", (28, 28, 1), 10)


def test_top_down_sees_the_image_at_three_resolutions():
    model = Network("top_down").plain()
    shapes = {layer.name: tuple(layer.output.shape[1:]) for layer in model.layers}
    assert shapes["coarse_view"] == (8, 8, 3) and shapes["coarse1"] == (8, 8, 64)
    assert shapes["middle_view"] == (16, 16, 3) and shapes["add_middle"] == (16, 16, 67)
    assert shapes["add_fine"] == (32, 32, 19) and shapes["pool"] == (8, 8, 16) and shapes["logits"] == (10,)


def test_a_network_survives_its_record_in_a_pack():
    network = Network("wide_cnn", (28, 28, 1), 20, 1.5)
    assert Network.from_dict(network.to_dict()) == network
    assert "wide_cnn (width 1.5) on 28x28x1 images, 20 classes" in network.describe()
