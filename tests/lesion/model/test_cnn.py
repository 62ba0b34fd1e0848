"""The study's CNN: Keras' default initialization drawn from the model's own seed."""

import numpy as np

from lesion.model.cnn import build_cnn, initial_weights


def test_initial_weights_follow_keras_defaults():
    model = build_cnn()
    weights = initial_weights(7)
    assert [w.shape for w in weights] == [tuple(w.shape) for w in model.get_weights()]
    assert model.count_params() == 122_570
    kernel = weights[2]  # conv2: fan_in 288, fan_out 576 -> Glorot limit sqrt(6/864)
    assert np.abs(kernel).max() <= np.sqrt(6 / 864) and np.abs(kernel).max() > 0.9 * np.sqrt(6 / 864)
    assert not weights[1].any()
    np.testing.assert_array_equal(initial_weights(7)[0], weights[0])
