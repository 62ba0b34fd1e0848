"""A study's evaluation as the statistics and the figures read it: which models form which group, and the
per-class values as models x classes arrays. One place, so the figures and the tests agree with the stats."""

import numpy as np
import pandas as pd

from lesion import contract
from lesion.errors import InputError


CLEAN = "clean"  # the condition of a clean model; a swap model's is its pair, "class_a/class_b"


def model_conditions(manifest):
    """Each model's condition, in manifest order: CLEAN or its swapped pair as "class_a/class_b"."""
    return np.where(manifest.kind == "clean", CLEAN, manifest.class_a + "/" + manifest.class_b).astype(str)


class Study:
    """Manifest and per-class results: `values(column)` is a models x classes array, `in_pair` marks lesions.

    Row m of every array is model_id m, the manifest's order, which confusion.npz follows too; the classes are in
    the dataset's order (contract.class_order).
    """

    def __init__(self, manifest, per_class):
        self.manifest = manifest  # model_id 0..n-1 in order (contract.read_manifest checks it)
        self.classes = contract.class_order(per_class)
        self.per_class = per_class
        self.clean = (self.manifest.kind == "clean").to_numpy()
        self.swap = (self.manifest.kind == "swap").to_numpy()
        pairs = self.manifest[["class_a", "class_b"]].to_numpy()
        self.conditions = model_conditions(self.manifest)
        self.in_pair = np.stack([(pairs == name).any(axis=1) for name in self.classes], axis=1) & self.swap[:, None]
        keys = pd.MultiIndex.from_frame(per_class[["model_id", "class"]])
        expected = pd.MultiIndex.from_product([self.manifest.model_id, self.classes])
        if len(keys) != len(expected) or not keys.is_unique or not keys.isin(expected).all():
            raise InputError(f"{contract.PER_CLASS} must hold one row per (model, class) of {contract.MANIFEST}: "
                             "rerun dvc repro evaluate")

    def values(self, column):
        """A (models, classes) array of one per_class.csv column."""
        table = self.per_class.pivot(index="model_id", columns="class", values=column)
        return table.loc[self.manifest.model_id, self.classes].to_numpy(float)

    def pair_lacks(self, *class_indices):
        """Swap models whose swapped pair contains none of the given classes."""
        return self.swap & ~self.in_pair[:, list(class_indices)].any(axis=1)

    def mean_prob(self):
        """confusion.npz's mean_prob, checked against this study's models and classes."""
        return contract.read_mean_prob(len(self.manifest), len(self.classes))


def load_study():
    """Read and check the manifest and per_class.csv."""
    return Study(contract.read_manifest(), contract.read_per_class())
