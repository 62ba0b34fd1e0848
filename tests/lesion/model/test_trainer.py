"""The training core: per-copy loss, per-model orders, and a model that does not depend on its pack."""

import keras
import numpy as np

from lesion.model.networks import Network
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
    network = Network()
    both, _ = PackTrainer(network, 2, 16, 1e-3).train(network.initial_pack_weights(seeds), labels, images, seeds, 0, 2)
    alone, _ = PackTrainer(network, 1, 16, 1e-3).train(network.initial_pack_weights(seeds[1:]), labels[1:], images,
                                                       seeds[1:], 0, 2)
    for packed_w, alone_w in zip(both, alone):
        np.testing.assert_allclose(packed_w[1], alone_w[0], rtol=1e-4, atol=1e-5)


def test_a_schedule_switches_between_the_corrupted_and_the_true_labels():
    """Never corrupted = trained on the true labels; corrupted in every epoch = no schedule; corrupted in the first
    epoch only differs from both."""
    rng = np.random.default_rng(3)
    images = keras.ops.convert_to_tensor(rng.integers(0, 256, (64, 32, 32, 3), dtype=np.uint8))
    true = rng.integers(0, 10, 64).astype(np.uint8)
    corrupted = np.stack([true, (true + 1) % 10])
    seeds = np.array([5, 6])
    trainer = PackTrainer(Network(), 2, 16, 1e-3)

    def trained(labels, **schedule):
        return trainer.train(Network().initial_pack_weights(seeds), labels, images, seeds, 0, 2, **schedule)[0][-1]

    on_true = trained(np.stack([true, true]))
    np.testing.assert_array_equal(trained(corrupted, true_labels=true, corrupted_epochs=set()), on_true)
    no_schedule = trained(corrupted)
    np.testing.assert_array_equal(trained(corrupted, true_labels=true, corrupted_epochs={0, 1}), no_schedule)
    first_only = trained(corrupted, true_labels=true, corrupted_epochs={0})
    np.testing.assert_array_equal(first_only[0], on_true[0])  # copy 0's corrupted labels are the true ones
    assert not np.allclose(first_only[1], on_true[1]) and not np.allclose(first_only[1], no_schedule[1])
