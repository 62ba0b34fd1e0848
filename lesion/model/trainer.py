"""The training core: packs of K copies trained by one compiled step over data resident on the device.

Each copy sees the training set in its own order, drawn from (train seed, model seed, epoch), so a model's
training never depends on which pack it lands in or on the pack size. Per step, the compiled function gathers
each copy's minibatch from the device-resident images by index (no host batches), computes the loss summed over
copies (so each copy gets exactly its own gradient) and applies Adam, all without a host round trip; the host
reads the per-copy loss and accuracy back once per epoch.
"""

import keras
import numpy as np
from keras import ops

from lesion.model import autodiff
from lesion.model.adam import Adam
from lesion.model.packed import PackedForward


def epoch_orders(model_seeds, train_seed, epoch, n_images):
    """Each copy's image order for one epoch: a permutation from (train seed, model seed, epoch) alone."""
    return np.stack(
        [np.random.default_rng([train_seed, int(seed), epoch]).permutation(n_images) for seed in model_seeds]
    ).astype(np.int32)


def per_copy_loss(logits, labels):
    """Mean cross-entropy and accuracy of each copy: logits (K, B, 10), labels (K, B) -> two (K,) tensors."""
    logits = ops.cast(logits, "float32")
    losses = keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
    correct = ops.cast(ops.equal(ops.argmax(logits, axis=-1), ops.cast(labels, "int32")), "float32")
    return ops.mean(losses, axis=1), ops.mean(correct, axis=1)


# Which of the step's loop state (weights, Adam's count and moments, the epoch's totals) carries the copy axis.
STATE_COPY_AXES = (True, [False, True, True], True)


class PackTrainer:
    """Trains packs of `copies` models; the step is compiled once and reused for every pack of that size.

    With JAX on several devices the pack is padded to `slots` copies, a multiple of the device count, and each
    device trains its share (lesion.model.autodiff). `train` takes up to `slots` copies: the repeats that pad them
    are dropped from what it returns, so packs of any size up to `slots` share one compiled step.
    """

    def __init__(self, network, copies, batch_size, learning_rate, kernels="xla"):
        self.network, self.batch_size = network, batch_size
        self.slots = autodiff.copy_slots(copies)
        self.forward = PackedForward(network, self.slots, kernels)
        self.optimizer = Adam(learning_rate)
        # Arguments: the state, the images (shared), labels and orders (per copy), the step count (shared).
        self.step = autodiff.compile(self._step, copy_axes=STATE_COPY_AXES + (False, True, True, False),
                                     out_copy_axes=STATE_COPY_AXES + (False,))
        self.gradient = autodiff.value_and_grad(self._loss)

    def _loss(self, trainable, batch, y):
        loss, accuracy = per_copy_loss(self.forward.logits(trainable, batch), y)
        return ops.sum(loss), (loss, accuracy)

    def _step(self, trainable, optimizer_state, totals, images, labels, orders, step):
        """One step of every copy; `totals` (K, 2) sums the epoch's loss and accuracy, `step` counts steps.

        Both stay on the device, so the host only launches steps and reads back once per epoch.
        """
        index = ops.slice(orders, (0, step * self.batch_size), (self.slots, self.batch_size))
        y = ops.take_along_axis(labels, index, axis=1)
        (_, (loss, accuracy)), grads = self.gradient(trainable, self.forward.batch(images, index), y)
        trainable, optimizer_state = self.optimizer.update(trainable, grads, optimizer_state)
        return trainable, optimizer_state, totals + ops.stack([loss, accuracy], axis=1), step + 1

    def train(self, weights, labels, images, model_seeds, train_seed, epochs, on_step=lambda: None,
              on_epoch=lambda epoch, trainable: None, true_labels=None, corrupted_epochs=None):
        """Train one pack from `weights` (stacked numpy arrays) on `labels` (K, N).

        `images` is the tensor of training images (N, H, W, C) uint8. With `corrupted_epochs` (a set of epochs
        from 0; None: every epoch) the copies train on `true_labels` (N,) in every other epoch (train.schedule).
        `on_epoch(epoch, trainable)` sees the weights after each epoch, padded to `slots` copies (the caller
        evaluates them; it cannot change training). Returns the trained weights and the history (K, epochs, 2) of
        mean training loss and accuracy per copy and epoch. Raises FloatingPointError(epoch) when a loss stops
        being finite.
        """
        copies = len(model_seeds)
        *weights, labels, model_seeds = autodiff.pad_copies(
            [*weights, labels.astype(np.int32), np.asarray(model_seeds)], self.slots)
        trainable = autodiff.place(weights, True)
        optimizer_state = autodiff.place(self.optimizer.initial_state(trainable), STATE_COPY_AXES[1])
        images, labels = autodiff.place(self.forward.prepare(images), False), autodiff.place(labels, True)
        if corrupted_epochs is not None:
            true_labels = autodiff.place(np.broadcast_to(true_labels.astype(np.int32), labels.shape), True)
        n_images = labels.shape[1]
        steps = n_images // self.batch_size
        history = np.zeros((self.slots, epochs, 2), np.float32)
        for epoch in range(epochs):
            epoch_labels = labels if corrupted_epochs is None or epoch in corrupted_epochs else true_labels
            orders = autodiff.place(epoch_orders(model_seeds, train_seed, epoch, n_images), True)
            totals = autodiff.place(np.zeros((self.slots, 2), np.float32), True)
            step = autodiff.place(np.int32(0), False)
            for _ in range(steps):
                trainable, optimizer_state, totals, step = self.step(
                    trainable, optimizer_state, totals, images, epoch_labels, orders, step
                )
                on_step()
            history[:, epoch] = ops.convert_to_numpy(totals) / steps
            if not np.isfinite(history[:, epoch, 0]).all():
                raise FloatingPointError(epoch)
            on_epoch(epoch, trainable)
        return [ops.convert_to_numpy(w)[:copies] for w in trainable], history[:copies]


def train_models(trainer, labels, images, model_seeds, train_seed, epochs, **options):
    """Train one pack of models from their seeded starting weights: (weights, history) as PackTrainer.train, which
    takes `options`."""
    weights = trainer.network.initial_pack_weights(model_seeds)
    return trainer.train(weights, labels, images, model_seeds, train_seed, epochs, **options)
