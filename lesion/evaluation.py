"""Models on the test set, a pack at a time, every per-class sum and every confusion cell's top images computed on
the device.

Per model and class c, `loglik_bits` is the study's binary log-likelihood: the mean over all test images of
log2 p(c|x) for images of class c and log2(1 - p(c|x)) for the others, probabilities clipped to
[EPSILON, 1 - EPSILON]; `accuracy` is the share of class-c images predicted c; `mean_prob[i, j]` the mean
probability of class i over test images of class j. A confusion cell (t, p) holds the test images of true class t
predicted p: `count[t, p]` of them, and the `top` most confident (highest probability of p; exact ties to the
lower image index on TensorFlow and JAX) in `top_index[t, p]` (test image indices, -1 past the cell's count) with
their `top_prob` (0 past the count).
"""

from dataclasses import dataclass

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


@dataclass
class Evaluation:
    """One pack's test results, copies first (module docstring): loglik (K, C), accuracy (K, C), mean_prob
    (K, C, C), count (K, C, C) and top_index, top_prob (K, C, C, top)."""

    loglik: np.ndarray
    accuracy: np.ndarray
    mean_prob: np.ndarray
    count: np.ndarray
    top_index: np.ndarray
    top_prob: np.ndarray


class PackEvaluator:
    """The packed forward pass of one pack of `copies` models, and the sums the per-class statistics need.

    Always in float32, whatever train.precision: the evaluate stage and the train stage's per-epoch evaluation
    (lesion.bench) run the same compiled calls on the same batches, so they compute the same numbers.

    The test images go through in class order, each batch of one true class (`class_batches`): a cell's top images
    are then a top-k over the batch's images per predicted class, merged into a running top-k on the device.

    Padded to `slots` copies and sharded over the devices as the trainer is (lesion.model.autodiff): it takes the
    weights of up to `slots` copies and returns as many rows.
    """

    def __init__(self, network, copies, kernels="xla"):
        self.slots, self.n_classes = autodiff.copy_slots(copies), network.n_classes
        self.step = max(1, min(1000, IMAGES_PER_STEP // self.slots))  # test images per compiled call, at most
        self.forward = PackedForward(network, self.slots, kernels, dtype="float32")
        self.predictions = autodiff.compile(self._predictions, copy_axes=(True, False),
                                            out_copy_axes=(True, True, True))
        # predict's own trace: TensorFlow, traced at a second shape, would generalize the shapes the packed forward
        # pass reads, so evaluate's padded batches and predict's never share one.
        self.probabilities = autodiff.compile(self._probabilities, copy_axes=(True, False), out_copy_axes=True)
        self.sums = autodiff.compile(self._sums, copy_axes=(True, True, False, False), out_copy_axes=(True, True, True))
        self.cells = autodiff.compile(self._cells, copy_axes=(True, True, False, True, True),
                                      out_copy_axes=(True, True))

    def _predictions(self, weights, images):
        """Of every copy on the same uint8 images (N, H, W, channels): clipped class probabilities (K, N, C), the
        predicted class as a one-hot (K, N, C), and the log-odds (K, N) of the predicted class, whose order is the
        probability's without float32's saturation at 1."""
        batch = self.forward.batch(self.forward.prepare(images), copies=weights[0].shape[0])
        logits = ops.cast(self.forward.logits(weights, batch), "float32")
        probs = ops.clip(ops.softmax(logits, axis=-1), EPSILON, 1 - EPSILON)
        predicted = ops.one_hot(ops.argmax(probs, axis=-1), self.n_classes)
        chosen = predicted > 0
        others = ops.logsumexp(ops.where(chosen, -np.inf, logits), axis=-1)
        return probs, predicted, ops.sum(ops.where(chosen, logits, 0.0), axis=-1) - others

    def _probabilities(self, weights, images):
        return self._predictions(weights, images)[0]

    def _sums(self, probs, predicted, onehot, valid):
        """For one batch: sum of per-class log-likelihoods (K, C), confusion counts (K, true, predicted) and
        probabilities (K, C, C); `valid` (N,) is 0 on the rows that only pad the batch."""
        loglik = ops.where(onehot[None] > 0, ops.log2(probs), ops.log2(1 - probs)) * valid[None, :, None]
        return (ops.sum(loglik, axis=1), ops.einsum("knp,nt->ktp", predicted, onehot),
                ops.einsum("kni,nj->kij", probs, onehot))

    def _cells(self, predicted, scores, image_index, best_scores, best_index):
        """The running top-k (K, C predicted, k) of one true class's cells, merged with this batch of its images:
        scores (log-odds) and test image indices, -inf and -1 where a cell has fewer images."""
        top = best_scores.shape[-1]
        member = ops.logical_and(predicted > 0, (image_index >= 0)[None, :, None])
        candidates = ops.transpose(ops.where(member, scores[..., None], -np.inf), (0, 2, 1))  # (K, C, N)
        values, positions = ops.top_k(candidates, min(top, candidates.shape[-1]))
        values = ops.concatenate([best_scores, values], axis=-1)  # earlier batches first: lower indices win ties
        indices = ops.concatenate([best_index, ops.take(image_index, positions)], axis=-1)
        values, positions = ops.top_k(values, top)
        indices = ops.take_along_axis(indices, positions, axis=-1)
        return values, ops.where(values > -np.inf, indices, -1)

    def batch_size(self, y_test):
        """Images per call: IMAGES_PER_STEP over the copies, at most 1000, and no more than the largest class has
        (every batch holds one class, padded to this size so one compiled shape serves them all)."""
        largest = int(np.bincount(y_test).max()) if len(y_test) else 1
        return min(self.step, largest)

    def place(self, weights):
        return autodiff.place(autodiff.pad_copies(weights, self.slots), True)

    def predict(self, weights, x_test):
        """Class probabilities (K, N, C) of stacked `weights` on every test image, as numpy (batches padded to one
        size)."""
        copies, size = len(weights[0]), self.step
        weights = self.place(weights)
        padded = np.concatenate([x_test, np.zeros((-len(x_test) % size,) + x_test.shape[1:], x_test.dtype)])
        batches = (self.probabilities(weights, shared(padded[start : start + size]))
                   for start in range(0, len(padded), size))
        return np.concatenate([ops.convert_to_numpy(probs) for probs in batches], axis=1)[:copies, : len(x_test)]

    def evaluate(self, weights, x_test, y_test, top=0):
        """The Evaluation of stacked `weights` on the test set, with the `top` most confident images of each
        confusion cell (none when 0)."""
        copies, size = len(weights[0]), self.batch_size(y_test)
        weights = self.place(weights)
        onehot = np.eye(self.n_classes, dtype=np.float32)[y_test]
        totals = None
        top_index = np.full((self.slots, self.n_classes, self.n_classes, top), -1, np.int32)
        top_prob = np.zeros(top_index.shape, np.float32)
        cell_shape = (self.slots, self.n_classes, top)  # one true class's cells: (K, C predicted, top)
        for true_class, batches in class_batches(y_test, size):
            if top:
                best = autodiff.place((np.full(cell_shape, -np.inf, np.float32), np.full(cell_shape, -1, np.int32)),
                                      True)
            for index in batches:
                valid = (index >= 0).astype(np.float32)
                images, labels = x_test[np.maximum(index, 0)], onehot[np.maximum(index, 0)] * valid[:, None]
                probs, predicted, scores = self.predictions(weights, shared(images))
                batch = self.sums(probs, predicted, shared(labels), shared(valid))
                totals = batch if totals is None else [t + b for t, b in zip(totals, batch)]
                if top:
                    best = self.cells(predicted, scores, shared(index), *best)
            if top:
                top_prob[:, true_class] = ops.convert_to_numpy(ops.where(best[1] >= 0, ops.sigmoid(best[0]), 0.0))
                top_index[:, true_class] = ops.convert_to_numpy(best[1])
        if totals is None:  # no test image
            totals = [np.zeros((self.slots,) + shape, np.float32) for shape in
                      [(self.n_classes,), (self.n_classes,) * 2, (self.n_classes,) * 2]]
        loglik, count, probs = (ops.convert_to_numpy(t)[:copies] for t in totals)
        counts = np.maximum(onehot.sum(axis=0), 1)
        return Evaluation(loglik / max(len(x_test), 1), np.diagonal(count, axis1=1, axis2=2) / counts, probs / counts,
                          count.astype(np.int32), top_index[:copies], top_prob[:copies])


def class_batches(y_test, size):
    """(class, its batches) for every class with test images: each batch the indices of `size` images of that
    class in increasing order, the last padded with -1."""
    for true_class in np.unique(y_test):
        members = np.flatnonzero(y_test == true_class).astype(np.int32)
        padded = np.concatenate([members, np.full(-len(members) % size, -1, np.int32)])
        yield int(true_class), padded.reshape(-1, size)


def shared(array):
    """`array`, on the device(s) for every copy of a pack."""
    return autodiff.place(array, False)


def evaluate_study(executor, n_models, x_test, y_test, class_names, top):
    """Every model of every pack file (contract.check_packs has made sure each model is in exactly one), a pack at
    a time on `executor` (lesion.executors): the per_class table (contract.PER_CLASS_COLUMNS), mean_prob, the
    confusion cells (contract.CELL_ARRAYS, `top` images each) and the per_class_epochs table of what the train
    stage measured after its evaluated epochs."""
    n_classes = len(class_names)
    loglik = np.zeros((n_models, n_classes), np.float32)
    accuracy = np.zeros_like(loglik)
    mean_prob = np.zeros((n_models, n_classes, n_classes), np.float32)
    cells = {"count": np.zeros((n_models, n_classes, n_classes), np.int32),
             "top_index": np.full((n_models, n_classes, n_classes, top), -1, np.int32),
             "top_prob": np.zeros((n_models, n_classes, n_classes, top), np.float32)}
    paths, epochs = contract.pack_files(), []

    def jobs():
        for path in paths:
            pack = pack_in_id_order(path)
            epochs.append(epoch_rows(pack, class_names))
            yield path.stem, (pack.model_ids, pack.weights, checked_network(pack, path, x_test, n_classes))

    for _, (ids, result) in tqdm(executor.run("evaluate", jobs(), (x_test, y_test, top)), total=len(paths),
                                 desc="evaluate", unit="pack"):
        loglik[ids], accuracy[ids], mean_prob[ids] = result.loglik, result.accuracy, result.mean_prob
        for name, array in cells.items():
            array[ids] = getattr(result, name)
    per_class = pd.DataFrame({
        "model_id": np.repeat(np.arange(n_models), n_classes),
        "class": np.tile(class_names, n_models),
        "loglik_bits": loglik.ravel(),
        "accuracy": accuracy.ravel(),
    })
    if not epochs:  # no pack: the table's columns alone
        return per_class, mean_prob, cells, pd.DataFrame(columns=contract.PER_CLASS_EPOCH_COLUMNS)
    per_class_epochs = pd.concat(epochs, ignore_index=True)
    return per_class, mean_prob, cells, per_class_epochs.sort_values(["model_id", "epoch"], kind="stable",
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
