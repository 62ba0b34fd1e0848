"""The study's evaluation tables as the `stats` and `plots` stages read them: one place for paths and checks.

Both stages must agree on which models form which group and on the order of the classes; reading them here keeps
the figures and the tests in step.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from stages.common import StageError, require

DATA = Path("data/cifar10.npz")
MANIFEST = Path("data/labels/manifest.csv")
PER_CLASS = Path("data/eval/per_class.csv")
CONFUSION = Path("data/eval/confusion.npz")


def class_order(per_class):
    """Class names in the dataset's order: data/cifar10.npz's `class_names`, else their order in per_class.csv."""
    seen = list(dict.fromkeys(per_class["class"]))
    if not DATA.exists():
        return seen
    with np.load(DATA) as data:
        names = [str(name) for name in data["class_names"]]
    if sorted(names) != sorted(seen):
        raise StageError(f"{PER_CLASS} names classes {seen}, {DATA} names {names}: rerun dvc repro evaluate")
    return names


class Study:
    """Manifest and per-class results: `values(column)` is a models x classes array, `in_pair` marks lesions.

    Row m of every array is model_id m, the manifest's order, which confusion.npz follows too.
    """

    def __init__(self, manifest, per_class):
        self.manifest = manifest.sort_values("model_id").reset_index(drop=True)
        if list(self.manifest.model_id) != list(range(len(self.manifest))):
            raise StageError(f"{MANIFEST} model_id must be 0..n-1: rerun dvc repro corrupt")
        self.classes = class_order(per_class)
        self.per_class = per_class
        self.clean = (self.manifest.kind == "clean").to_numpy()
        self.swap = (self.manifest.kind == "swap").to_numpy()
        pairs = self.manifest[["class_a", "class_b"]].to_numpy()
        self.in_pair = np.stack([(pairs == name).any(axis=1) for name in self.classes], axis=1) & self.swap[:, None]
        keys = pd.MultiIndex.from_frame(per_class[["model_id", "class"]])
        expected = pd.MultiIndex.from_product([self.manifest.model_id, self.classes])
        if len(keys) != len(expected) or not keys.is_unique or not keys.isin(expected).all():
            raise StageError(f"{PER_CLASS} must hold one row per (model, class) of {MANIFEST}: "
                             "rerun dvc repro evaluate")

    def values(self, column):
        """A (models, classes) array of one per_class.csv column."""
        table = self.per_class.pivot(index="model_id", columns="class", values=column)
        return table.loc[self.manifest.model_id, self.classes].to_numpy(float)

    def pair_lacks(self, *class_indices):
        """Swap models whose swapped pair contains none of the given classes."""
        return self.swap & ~self.in_pair[:, list(class_indices)].any(axis=1)


def load_study():
    """Read and check the manifest and per_class.csv."""
    require(MANIFEST, "corrupt")
    require(PER_CLASS, "evaluate")
    manifest = pd.read_csv(MANIFEST, keep_default_na=False)
    per_class = pd.read_csv(PER_CLASS)
    for path, table, columns in ((MANIFEST, manifest, ["model_id", "kind", "class_a", "class_b"]),
                                 (PER_CLASS, per_class, ["model_id", "class", "loglik_bits", "accuracy"])):
        missing = [column for column in columns if column not in table.columns]
        if missing:
            raise StageError(f"{path} lacks columns {missing}: rerun the stage that writes it")
    return Study(manifest, per_class)
