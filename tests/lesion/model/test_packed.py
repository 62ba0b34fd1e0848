"""A packed copy computes exactly what a plain Keras model computes: outputs, gradients, one Adam step."""

import keras
import numpy as np

from lesion.model import autodiff
from lesion.model.cnn import build_cnn, initial_pack_weights
from lesion.model.packed import build_packed
from lesion.model.trainer import PackTrainer

K = 3


def single_model_gradient(model, x, y):
    """Gradient of a plain Keras model's mean cross-entropy on (x, y), by the backend's own autodiff."""

    def loss(weights):
        logits, _ = model.stateless_call(weights, [], x)
        return keras.ops.mean(keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)), ()

    _, grads = autodiff.value_and_grad(loss)([keras.ops.convert_to_tensor(w) for w in model.get_weights()])
    return [keras.ops.convert_to_numpy(g) for g in grads]


def test_packed_copy_computes_what_a_single_model_computes():
    """Outputs, gradients and one Adam step of copy k equal those of a plain Keras model with its weights.

    Only float rounding may differ (the packed convolution sums in another order). The gradients are compared
    directly because Adam hides their scale; the Adam step to 1% of the learning rate, because a weight whose
    gradient is near Adam's epsilon moves by an amount that rounding can change by that much.
    """
    rng = np.random.default_rng(0)
    weights = initial_pack_weights([11, 12, 13])
    x = rng.random((K, 8, 32, 32, 3)).astype(np.float32)
    y = rng.integers(0, 10, (K, 8))

    packed = build_packed(K)
    logits = keras.ops.convert_to_numpy(packed.stateless_call(weights, [], x)[0])
    trainer = PackTrainer(K, 8, 1e-3)
    tensors = [keras.ops.convert_to_tensor(w) for w in weights]
    (_, _), grads = trainer.gradient(tensors, x, y)
    stepped, _ = trainer.optimizer.update(tensors, grads, trainer.optimizer.initial_state(tensors))

    for k in range(K):
        single = build_cnn()
        single.set_weights([w[k] for w in weights])
        np.testing.assert_allclose(logits[k], keras.ops.convert_to_numpy(single(x[k])), rtol=1e-5, atol=1e-5)
        for grad, reference in zip(grads, single_model_gradient(single, x[k], y[k])):
            scale = np.abs(reference).max()
            np.testing.assert_allclose(keras.ops.convert_to_numpy(grad)[k], reference, rtol=1e-4, atol=1e-5 * scale)
        single.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        single.train_on_batch(x[k], y[k])
        for after, reference in zip(stepped, single.get_weights()):
            np.testing.assert_allclose(keras.ops.convert_to_numpy(after)[k], reference, rtol=1e-4, atol=1e-5)
        assert not np.allclose(single.get_weights()[0], weights[0][k])  # the step really moved the weights
