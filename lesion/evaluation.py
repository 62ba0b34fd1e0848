"""Models on the test set, a pack at a time, every per-class sum taken on the device.

Per model and class c, `loglik_bits` is the study's binary log-likelihood: the mean over all test images of
log2 p(c|x) for images of class c and log2(1 - p(c|x)) for the others, probabilities clipped to
[EPSILON, 1 - EPSILON]; `accuracy` is the share of class-c images predicted c; `mean_prob[i, j]` the mean
probability of class i over test images of class j.
"""

import numpy as np
import pandas as pd
from keras import ops
from tqdm import tqdm

from lesion import contract
from lesion.errors import InputError
from lesion.model import autodiff
from lesion.model.networks import Network
from lesion.model.packed import PackedForward

EPSILON = 1e-7
IMAGES_PER_STEP = 65536  # copies x test images per compiled call: bounds device memory at any pack size


class PackEvaluator:
    """The packed forward pass of one pack of `copies` models, and the sums the per-class statistics need.

    Always in float32, whatever train.precision: the evaluate stage and the train stage's per-epoch evaluation
    (lesion.bench) compute the same numbers.

    Padded to `slots` copies and sharded over the devices as the trainer is (lesion.model.autodiff): it takes the
    weights of up to `slots` copies and returns as many rows.
    """

    def __init__(self, network, copies, kernels="xla"):
        self.slots, self.n_classes = autodiff.copy_slots(copies), network.n_classes
        self.forward = PackedForward(network, self.slots, kernels, dtype="float32")
        self.probabilities = autodiff.compile(self._probabilities, copy_axes=(True, False), out_copy_axes=True)
        self.sums = autodiff.compile(self._sums, copy_axes=(True, False, False), out_copy_axes=(True, True, True))

    def _probabilities(self, weights, images):
        """Clipped class probabilities (K, N, C) of every copy on the same uint8 images (N, H, W, channels)."""
        batch = self.forward.batch(self.forward.prepare(images), copies=weights[0].shape[0])
        logits = self.forward.logits(weights, batch)
        return ops.clip(ops.softmax(ops.cast(logits, "float32"), axis=-1), EPSILON, 1 - EPSILON)

    def _sums(self, weights, images, onehot):
        """For one batch: sum of per-class log-likelihoods (K, C), hits (K, C), probabilities (K, C, C)."""
        probs = self._probabilities(weights, images)
        loglik = ops.where(onehot[None] > 0, ops.log2(probs), ops.log2(1 - probs))
        hits = ops.one_hot(ops.argmax(probs, axis=-1), onehot.shape[-1]) * onehot[None]
        return ops.sum(loglik, axis=1), ops.sum(hits, axis=1), ops.einsum("kni,nj->kij", probs, onehot)

    def batches(self, n_images):
        return range(0, n_images, max(1, min(1000, IMAGES_PER_STEP // self.slots)))

    def place(self, weights):
        return autodiff.place(autodiff.pad_copies(weights, self.slots), True)

    def predict(self, weights, x_test):
        """Class probabilities (K, N, C) of stacked `weights` on every test image, as numpy."""
        copies, starts = len(weights[0]), self.batches(len(x_test))
        weights = self.place(weights)
        return np.concatenate([ops.convert_to_numpy(self.probabilities(weights, shared(x_test, start, starts.step)))
                               for start in starts], axis=1)[:copies]

    def evaluate(self, weights, x_test, y_test):
        """(loglik_bits (K, C), accuracy (K, C), mean_prob (K, C, C)) of stacked `weights`."""
        copies, starts = len(weights[0]), self.batches(len(x_test))
        weights = self.place(weights)
        onehot = np.eye(self.n_classes, dtype=np.float32)[y_test]
        totals = None
        for start in starts:
            batch = self.sums(weights, shared(x_test, start, starts.step), shared(onehot, start, starts.step))
            totals = batch if totals is None else [t + b for t, b in zip(totals, batch)]
        loglik, hits, probs = (ops.convert_to_numpy(t)[:copies] for t in totals)
        counts = np.maximum(onehot.sum(axis=0), 1)
        return loglik / len(x_test), hits / counts, probs / counts


def shared(array, start, size):
    """Rows start..start+size of `array`, on the device(s) for every copy of a pack."""
    return autodiff.place(array[start : start + size], False)


def evaluate_study(executor, n_models, x_test, y_test, class_names):
    """Every model of every pack file (contract.check_packs has made sure each model is in exactly one), a pack at
    a time on `executor` (lesion.executors): the per_class table (contract.PER_CLASS_COLUMNS), mean_prob, and the
    per_class_epochs table of what the train stage measured after its evaluated epochs."""
    n_classes = len(class_names)
    loglik = np.zeros((n_models, n_classes), np.float32)
    accuracy = np.zeros_like(loglik)
    mean_prob = np.zeros((n_models, n_classes, n_classes), np.float32)
    paths, epochs = contract.pack_files(), []

    def jobs():
        for path in paths:
            pack = pack_in_id_order(path)
            epochs.append(epoch_rows(pack, class_names))
            yield path.stem, (pack.model_ids, pack.weights, checked_network(pack, path, x_test, n_classes))

    for _, (ids, results) in tqdm(executor.run("evaluate", jobs(), (x_test, y_test)), total=len(paths),
                                  desc="evaluate", unit="pack"):
        loglik[ids], accuracy[ids], mean_prob[ids] = results
    per_class = pd.DataFrame({
        "model_id": np.repeat(np.arange(n_models), n_classes),
        "class": np.tile(class_names, n_models),
        "loglik_bits": loglik.ravel(),
        "accuracy": accuracy.ravel(),
    })
    if not epochs:  # no pack: the table's columns alone
        return per_class, mean_prob, pd.DataFrame(columns=contract.PER_CLASS_EPOCH_COLUMNS)
    per_class_epochs = pd.concat(epochs, ignore_index=True)
    return per_class, mean_prob, per_class_epochs.sort_values(["model_id", "epoch"], kind="stable",
                                                              ignore_index=True)


def epoch_rows(pack, class_names):
    """per_class_epochs.csv's rows of one pack's models, in the pack's order: model, epoch, class."""
    n_classes, evals = len(class_names), pack.evals
    models, n_epochs = evals.shape[:2]
    return pd.DataFrame({
        "model_id": np.repeat(pack.model_ids, n_epochs * n_classes),
        "epoch": np.tile(np.repeat(pack.eval_epochs, n_classes), models),
        "class": np.tile(class_names, models * n_epochs),
        "loglik_bits": evals[:, :, 0, :].ravel(),
        "accuracy": evals[:, :, 1, :].ravel(),
    })


def checked_network(pack, path, x_test, n_classes):
    """The pack's network, if it fits the dataset's test images and classes; an error naming the stage to rerun
    otherwise (models of another dataset)."""
    network = Network.from_dict(pack.network)
    if network.image_shape != x_test.shape[1:] or network.n_classes != n_classes:
        raise InputError(f"{path} holds {network.describe()}, the dataset has {'x'.join(map(str, x_test.shape[1:]))} "
                         f"images of {n_classes} classes: rerun dvc repro train")
    return network


def pack_in_id_order(path):
    """A pack file with its copies in id order: the batched products round the same way always (and as the train
    stage's per-epoch evaluation, lesion.bench)."""
    pack = contract.read_pack(path)
    order = np.argsort(pack.model_ids, kind="stable")
    return pack.subset(order, pack.model_ids[order])


def accuracy_metrics(manifest, per_class):
    """eval.json: mean clean test accuracy, swap models' mean accuracy on their own two classes and on the rest."""
    table = per_class.merge(manifest[["model_id", "kind", "class_a", "class_b"]], on="model_id")
    swapped = (table["class"] == table.class_a) | (table["class"] == table.class_b)
    swap = table.kind == "swap"
    return {
        "clean_accuracy": float(table.accuracy[table.kind == "clean"].mean()),
        "swap_pair_accuracy": float(table.accuracy[swap & swapped].mean()),
        "swap_other_accuracy": float(table.accuracy[swap & ~swapped].mean()),
        "n_models": int(len(manifest)),
    }
