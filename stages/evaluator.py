"""Evaluation core: a pack of models on test images, every per-class sum taken on the device.

Probabilities are clipped to [EPSILON, 1 - EPSILON] before the logarithms of the study's binary log-likelihood.
"""

import numpy as np
from keras import ops

from stages import autodiff
from stages.packed import build_packed
from stages.trainer import to_unit_range

EPSILON = 1e-7
IMAGES_PER_STEP = 65536  # copies x test images per compiled call: bounds device memory at any pack size


class PackEvaluator:
    """Sums, over test batches, of what the per-class statistics need, for one pack of `copies` models."""

    def __init__(self, copies):
        self.model = build_packed(copies)
        self.sums = autodiff.compile(self._sums)

    def _sums(self, weights, images, onehot):
        """For one batch: sum of per-class log-likelihoods (K, C), hits (K, C), probabilities (K, C, C)."""
        copies = weights[0].shape[0]
        x = ops.broadcast_to(to_unit_range(images)[None], (copies,) + tuple(images.shape))
        logits, _ = self.model.stateless_call(weights, [], x)
        probs = ops.clip(ops.softmax(ops.cast(logits, "float32"), axis=-1), EPSILON, 1 - EPSILON)
        loglik = ops.where(onehot[None] > 0, ops.log2(probs), ops.log2(1 - probs))
        hits = ops.one_hot(ops.argmax(probs, axis=-1), onehot.shape[-1]) * onehot[None]
        return ops.sum(loglik, axis=1), ops.sum(hits, axis=1), ops.einsum("kni,nj->kij", probs, onehot)

    def evaluate(self, weights, x_test, y_test, n_classes):
        """(loglik_bits (K, C), accuracy (K, C), mean_prob (K, C, C)) of stacked `weights`."""
        weights = [ops.convert_to_tensor(w) for w in weights]
        onehot = np.eye(n_classes, dtype=np.float32)[y_test]
        totals, batch_size = None, max(1, min(1000, IMAGES_PER_STEP // len(weights[0])))
        for start in range(0, len(x_test), batch_size):
            batch = self.sums(weights, ops.convert_to_tensor(x_test[start : start + batch_size]),
                              ops.convert_to_tensor(onehot[start : start + batch_size]))
            totals = batch if totals is None else [t + b for t, b in zip(totals, batch)]
        loglik, hits, probs = (ops.convert_to_numpy(t) for t in totals)
        counts = np.maximum(onehot.sum(axis=0), 1)
        return loglik / len(x_test), hits / counts, probs / counts
