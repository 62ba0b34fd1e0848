"""A packed copy computes exactly what a plain Keras model computes, for every network on every image shape:
outputs, gradients, one Adam step, also where pool windows tie; the rows the packed layers skip never reach the
logits."""

import keras
import numpy as np

from lesion.model import autodiff
import pytest

from lesion.model.networks import Network
from lesion.model.packed import used_input_size
from lesion.model.trainer import PackTrainer

K = 3


def single_model_gradient(model, x, y):
    """Gradient of a plain Keras model's mean cross-entropy on (x, y), by the backend's own autodiff."""

    def loss(weights):
        logits, _ = model.stateless_call(weights, [], x)
        return keras.ops.mean(keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)), ()

    _, grads = autodiff.value_and_grad(loss)([keras.ops.convert_to_tensor(w) for w in model.get_weights()])
    return [keras.ops.convert_to_numpy(g) for g in grads]


NETWORKS = [Network(), Network("wide_cnn", width=1.5), Network("top_down"),
            Network("tutorial_cnn", (28, 28, 1), 20), Network("top_down", (28, 28, 1), 20)]


@pytest.mark.parametrize("network", NETWORKS, ids=lambda n: f"{n.model}-{n.image_shape[0]}px-{n.n_classes}")
def test_packed_copy_computes_what_a_single_model_computes(network):
    """Outputs, gradients and one Adam step of copy k equal those of a plain Keras model with its weights.

    Only float rounding may differ (the packed convolution sums in another order). The gradients are compared
    directly because Adam hides their scale; the Adam step to 1% of the learning rate, because a weight whose
    gradient is near Adam's epsilon moves by an amount that rounding can change by that much.
    """
    rng = np.random.default_rng(0)
    weights = network.initial_pack_weights([11, 12, 13])
    x = rng.random((K, 8) + network.image_shape).astype(np.float32)
    y = rng.integers(0, network.n_classes, (K, 8))

    packed = network.packed(K)
    logits = keras.ops.convert_to_numpy(packed.stateless_call(weights, [], x)[0])
    assert logits.shape == (K, 8, network.n_classes)
    trainer = PackTrainer(network, K, 8, 1e-3)
    tensors = [keras.ops.convert_to_tensor(w) for w in weights]
    (_, _), grads = trainer.gradient(tensors, x, y)
    stepped, _ = trainer.optimizer.update(tensors, grads, trainer.optimizer.initial_state(tensors))

    for k in range(K):
        single = network.plain()
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


def tied_windows_input(copies):
    """Weights and images whose conv1 pool windows tie exactly between members with different patches.

    conv1 reads only its kernel's center tap (positive, the rest zero, biases zero), and the image repeats each
    pixel of a 2x2 block shifted by one row and column, so the four members of a pool window (centers at rows
    2p+1, 2p+2 and columns 2q+1, 2q+2) see the same center pixel and differ elsewhere. Which member the gradient
    reaches then changes the kernel's gradient at the off-center taps.
    """
    rng = np.random.default_rng(3)
    weights = Network().initial_pack_weights(range(21, 21 + copies))
    center = np.zeros_like(weights[0])
    center[:, 1, 1] = np.abs(weights[0][:, 1, 1]) + 0.05
    weights[0] = center
    small = rng.random((copies, 4, 17, 17, 3)).astype(np.float32) + 0.1
    rows = np.clip((np.arange(32) - 1) // 2 + 1, 0, 16)
    x = small[:, :, rows][:, :, :, rows]
    return weights, x, rng.integers(0, 10, (copies, 4))


def test_tied_pool_windows_send_the_gradient_where_the_plain_model_does():
    weights, x, y = tied_windows_input(K)
    single = Network().plain()
    single.set_weights([w[0] for w in weights])
    conv1 = keras.ops.convert_to_numpy(single.get_layer("conv1")(x[0]))
    windows = conv1[:, :28, :28].reshape(4, 14, 2, 14, 2, 32)
    assert (windows.max(axis=(2, 4)) > 0).all() and (windows == windows.max(axis=(2, 4), keepdims=True)).all()

    trainer = PackTrainer(Network(), K, 4, 1e-3)
    (_, _), grads = trainer.gradient([keras.ops.convert_to_tensor(w) for w in weights], x, y)
    for k in range(K):
        single.set_weights([w[k] for w in weights])
        for grad, reference in zip(grads, single_model_gradient(single, x[k], y[k])):
            scale = np.abs(reference).max()
            np.testing.assert_allclose(keras.ops.convert_to_numpy(grad)[k], reference, rtol=1e-4, atol=1e-5 * scale)
    lone = PackTrainer(Network(), 1, 4, 1e-3)  # the lone copy's native pooling routes the same way
    (_, _), alone = lone.gradient([keras.ops.convert_to_tensor(w[:1]) for w in weights], x[:1], y[:1])
    for grad, packed_grad in zip(alone, grads):
        scale = np.abs(keras.ops.convert_to_numpy(packed_grad)[0]).max()
        np.testing.assert_allclose(keras.ops.convert_to_numpy(grad)[0], keras.ops.convert_to_numpy(packed_grad)[0],
                                   rtol=1e-4, atol=1e-5 * scale)


def test_the_crop_leaves_the_logits_exactly_as_they_were():
    """The last two rows and columns of an image never reach the logits of the plain model: pool2 floors them
    away, so the packed layers may skip them (used_input_size)."""
    assert used_input_size(32) == 30 and used_input_size(28) == 26
    rng = np.random.default_rng(4)
    x = rng.random((5, 32, 32, 3)).astype(np.float32)
    changed = x.copy()
    changed[:, 30:], changed[:, :, 30:] = rng.random((5, 2, 32, 3)), rng.random((5, 32, 2, 3))
    single = Network().plain()
    single.set_weights([w[0] for w in Network().initial_pack_weights([5])])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(single(x)), keras.ops.convert_to_numpy(single(changed)))
