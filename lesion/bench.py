"""One process's pack work, the same under every executor: train a pack, evaluate a pack, measure what fits.

The train stage's driver runs a Bench itself (`train.executor: local`) or has Ray run one in each worker process
(`ray`, lesion.executors), so a pack trains to the same bytes either way. Compiled steps are kept per padded pack
size (packs that pad to the same size share one), and within a process the training images are moved to the
device once.
"""

import functools

import numpy as np

from lesion.errors import DeviceError, TrainingError


def describe_models(ids):
    return ", ".join(map(str, ids[:8])) + (", ..." if len(ids) > 8 else "")


def is_out_of_memory(error):
    """Whether a backend's error is an exhausted device memory (JAX/XLA, TensorFlow, torch each name it so)."""
    text = f"{type(error).__name__} {error}"
    return any(mark in text for mark in ("RESOURCE_EXHAUSTED", "ResourceExhausted", "OutOfMemory", "out of memory"))


def evaluated_epochs(epochs, every):
    """The epochs (counted from 1) after which the train stage evaluates its models (train.eval_every): every
    `every`-th and always the last, so the last equals the evaluate stage's numbers; none when `every` is 0."""
    if every == 0:
        return []
    return sorted(set(range(every, epochs + 1, every)) | {epochs})


def corrupted_epochs(schedule, epochs):
    """The epochs (from 0) in which swap models train on their corrupted labels (train.schedule), or None for
    every epoch: the default, which trains exactly as before schedules existed."""
    start, until = schedule["corrupt_from"], schedule["corrupt_until"]
    if start == 0 and (until is None or until >= epochs):
        return None
    return set(range(start, epochs if until is None else min(until, epochs)))


class Bench:
    """Packs trained and evaluated on this process's devices with the (resolved) train params `train`."""

    def __init__(self, train):
        self.params = train
        self.trainers, self.evaluators = {}, {}
        self.source = self.images = None

    def trainer(self, network, copies):
        from lesion.model.autodiff import copy_slots
        from lesion.model.trainer import PackTrainer

        key = network, copy_slots(copies)
        if key not in self.trainers:  # one compiled step per padded pack size (the last pack may be smaller)
            self.trainers[key] = PackTrainer(network, key[1], self.params["batch_size"], self.params["learning_rate"],
                                             self.params["kernels"])
        return self.trainers[key]

    def evaluator(self, network, copies):
        from lesion.evaluation import PackEvaluator
        from lesion.model.autodiff import copy_slots

        key = network, copy_slots(copies)
        if key not in self.evaluators:
            self.evaluators[key] = PackEvaluator(network, key[1], self.params["kernels"])
        return self.evaluators[key]

    def resident(self, x_train):
        """The training images on the device(s), moved once however many packs of this process train on them."""
        from lesion.model.autodiff import place

        if x_train is not self.source:
            self.source, self.images = x_train, place(x_train, False)
        return self.images

    def train(self, name, model_ids, labels, seeds, network, x_train, y_train, test, on_step=lambda: None):
        """Train pack `name` (models `model_ids` of `network`, label rows `labels`, model seeds `seeds`) from their seeded
        starting weights, on true labels `y_train` in the epochs train.schedule leaves uncorrupted; at the end of
        each epoch of `evaluated_epochs` evaluate every model on `test` (x_test, y_test) as the evaluate stage does.

        Returns (weights, history (K, epochs, 3): training loss, training accuracy, test accuracy (NaN in epochs
        not evaluated), evals (K, evaluated epochs, 2, classes): per-class loglik_bits and accuracy). A loss that
        stops being finite, or a device out of memory, is a TrainingError naming the pack.
        """
        from keras import ops

        from lesion.model.trainer import train_models

        copies, (x_test, y_test) = len(model_ids), test
        epochs = self.params["epochs"]
        evaluated, evals = evaluated_epochs(epochs, self.params["eval_every"]), []
        evaluator = self.evaluator(network, copies)
        # Evaluated in id order, as the evaluate stage reads a pack (the padding copies stay last).
        order = np.argsort(model_ids, kind="stable")
        slots_order = np.concatenate([order, np.arange(copies, evaluator.slots)]).astype(np.int32)
        pack_order = np.argsort(order)

        def on_epoch(epoch, trainable):
            if epoch + 1 in evaluated:
                in_id_order = [ops.take(w, slots_order, axis=0) for w in trainable]
                result = evaluator.evaluate(in_id_order, x_test, y_test)
                evals.append(np.stack([result.loglik, result.accuracy], axis=1)[pack_order])

        try:
            weights, history = train_models(
                self.trainer(network, copies), labels, self.resident(x_train), seeds, self.params["seed"], epochs,
                true_labels=y_train, corrupted_epochs=corrupted_epochs(self.params["schedule"], epochs),
                on_step=on_step, on_epoch=on_epoch)
        except FloatingPointError as error:
            raise TrainingError(f"loss became NaN or infinite in {name} (models {describe_models(model_ids)}) at "
                                f"epoch {error.args[0] + 1}: lower train.learning_rate or use precision "
                                "float32") from None
        except Exception as error:
            if is_out_of_memory(error):
                raise TrainingError(f"the device ran out of memory training {name} ({copies} copies): set "
                                    "train.pack_size to a smaller integer") from None
            raise
        evals = np.stack(evals, axis=1) if evals else np.zeros((copies, 0, 2, network.n_classes), np.float32)
        test_accuracy = np.full((copies, epochs), np.nan, np.float32)
        counts = np.bincount(y_test, minlength=network.n_classes)
        test_accuracy[:, np.array(evaluated, int) - 1] = evals[:, :, 1] @ counts / counts.sum()
        history = np.concatenate([history, test_accuracy[..., None]], axis=-1).astype(np.float32)
        return weights, history, evals.astype(np.float32)

    def evaluate(self, model_ids, weights, network, x_test, y_test, top):
        """(model_ids, lesion.evaluation.Evaluation) of a pack's models of `network`, `weights` stacked over them
        in the order of `model_ids`, with the `top` most confident images of each confusion cell."""
        return model_ids, self.evaluator(network, len(model_ids)).evaluate(weights, x_test, y_test, top)

    def capacity(self, network, x_train):
        """Copies a pack can hold on this process's GPU(s), measured by probe steps (lesion.pack_size)."""
        from lesion.model.autodiff import copy_device_count
        from lesion.pack_size import measured_capacity, memory_gauge, probe_step

        run_step = probe_step(functools.partial(self.trainer, network), self.resident(x_train),
                              self.params["batch_size"])
        try:
            return measured_capacity(run_step, memory_gauge(), copy_device_count())
        except Exception as error:
            if is_out_of_memory(error):
                raise DeviceError("the GPU ran out of memory in a probe step of a few copies: free its memory "
                                  "(another process?) or set train.pack_size to an integer") from None
            raise
