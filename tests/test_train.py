"""Training: a packed copy is exactly a single model; resume; NaN stop; the loss and Adam we rely on."""

import numpy as np
import pandas as pd
import pytest

import keras
from stages import autodiff, train
from stages.cnn import build_cnn, initial_weights
from stages.packed import build_packed
from stages.trainer import Adam, PackTrainer, epoch_orders, per_copy_loss

K = 3


def stacked(seeds):
    return [np.stack(w) for w in zip(*(initial_weights(s) for s in seeds))]


def test_initial_weights_follow_keras_defaults():
    model = build_cnn()
    weights = initial_weights(7)
    assert [w.shape for w in weights] == [tuple(w.shape) for w in model.get_weights()]
    assert model.count_params() == 122_570
    kernel = weights[2]  # conv2: fan_in 288, fan_out 576 -> Glorot limit sqrt(6/864)
    assert np.abs(kernel).max() <= np.sqrt(6 / 864) and np.abs(kernel).max() > 0.9 * np.sqrt(6 / 864)
    assert not weights[1].any()
    np.testing.assert_array_equal(initial_weights(7)[0], weights[0])


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
    weights = stacked([11, 12, 13])
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


def test_per_copy_loss_is_each_copys_mean_cross_entropy():
    logits = np.log(np.array([[[0.5, 0.25, 0.25], [0.1, 0.8, 0.1]]], np.float32))
    loss, accuracy = per_copy_loss(logits, np.array([[0, 0]]))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loss), [(-np.log(0.5) - np.log(0.1)) / 2], rtol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(accuracy), [0.5])


def test_orders_depend_only_on_the_models_own_seed():
    alone = epoch_orders([42], 0, 3, 100)
    packed = epoch_orders([7, 42, 9], 0, 3, 100)
    np.testing.assert_array_equal(alone[0], packed[1])
    assert sorted(packed[0]) == list(range(100)) and not np.array_equal(packed[0], packed[2])
    assert not np.array_equal(epoch_orders([42], 0, 4, 100), alone)


def test_packing_does_not_change_a_model():
    """A model trained alone and the same model trained inside a pack end with the same weights."""
    rng = np.random.default_rng(2)
    images = keras.ops.convert_to_tensor(rng.integers(0, 256, (64, 32, 32, 3), dtype=np.uint8))
    labels = rng.integers(0, 10, (2, 64)).astype(np.uint8)
    seeds = np.array([5, 6])
    both, _ = PackTrainer(2, 16, 1e-3).train(stacked(seeds), labels, images, seeds, 0, 2)
    alone, _ = PackTrainer(1, 16, 1e-3).train(stacked(seeds[1:]), labels[1:], images, seeds[1:], 0, 2)
    for packed_w, alone_w in zip(both, alone):
        np.testing.assert_allclose(packed_w[1], alone_w[0], rtol=1e-4, atol=1e-5)


def test_plan_packs_holds_one_trial_of_every_condition():
    manifest = pd.DataFrame({"model_id": range(6), "trial": [0, 1, 0, 1, 0, 1]})
    assert [list(p) for p in train.plan_packs(manifest, 3)] == [[0, 2, 4], [1, 3, 5]]


@pytest.mark.parametrize(
    "key, value, message",
    [("epochs", 0, "train.epochs"), ("pack_size", "big", "train.pack_size"), ("precision", "fp8", "train.precision"),
     ("learning_rate", -1, "train.learning_rate")],
)
def test_bad_train_params(key, value, message):
    params = {"epochs": 1, "batch_size": 8, "learning_rate": 1e-3, "pack_size": "auto", "precision": "float32"}
    params[key] = value
    with pytest.raises(train.StageError, match=message):
        train.validate(params)
