"""The training core: per-copy loss, per-model orders, and a model that does not depend on its pack."""

import keras
import numpy as np

from lesion.model.cnn import initial_pack_weights
from lesion.model.trainer import PackTrainer, epoch_orders, per_copy_loss


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
    both, _ = PackTrainer(2, 16, 1e-3).train(initial_pack_weights(seeds), labels, images, seeds, 0, 2)
    alone, _ = PackTrainer(1, 16, 1e-3).train(initial_pack_weights(seeds[1:]), labels[1:], images, seeds[1:], 0, 2)
    for packed_w, alone_w in zip(both, alone):
        np.testing.assert_allclose(packed_w[1], alone_w[0], rtol=1e-4, atol=1e-5)
