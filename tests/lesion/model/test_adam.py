"""The pure Adam step against keras.optimizers.Adam."""

import keras
import numpy as np

from lesion.model.adam import Adam


def test_adam_matches_keras_over_several_steps():
    rng = np.random.default_rng(1)
    weight = rng.normal(size=(4, 3)).astype(np.float32)
    variable = keras.Variable(weight)
    reference = keras.optimizers.Adam(0.01)
    ours, current = Adam(0.01), [keras.ops.convert_to_tensor(weight)]
    state = ours.initial_state(current)
    for _ in range(5):
        grad = keras.ops.convert_to_tensor(rng.normal(size=(4, 3)).astype(np.float32))
        reference.apply([grad], [variable])
        current, state = ours.update(current, [grad], state)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(current[0]), keras.ops.convert_to_numpy(variable), rtol=1e-5, atol=1e-6)
