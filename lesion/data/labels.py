"""The study's label sets, one row per model: the corrupt stage's work.

For a pair (a, b), `fraction` of class a's training images is relabeled b and the same fraction of class b's is
relabeled a; clean models keep every label. Each model's choice comes from its own seed, derived from
(corrupt.seed, pair, trial), so adding trials or pairs never changes an existing label set.
"""

import itertools

import numpy as np
import pandas as pd

from lesion.contract import MANIFEST_COLUMNS, LabelSets
from lesion.errors import ParamsError


def sample_pairs(count, classes, seed):
    """`count` of all unordered pairs of `classes` (indices), in their canonical order: the first `count` of one
    seeded shuffle of them, so a larger sample of the same seed keeps every pair of a smaller one (a grown study
    trains only its new pairs)."""
    every = list(itertools.combinations(classes, 2))
    if count > len(every):
        raise ParamsError(f"corrupt.pairs samples {count} pairs, but {len(classes)} classes have only {len(every)}: "
                          "lower the sample, or set corrupt.pairs: all")
    shuffled = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0,))).permutation(len(every))
    return [every[i] for i in sorted(shuffled[:count])]


def class_indices(listed, names, key):
    """Class names of params (str, or int for a digit class) as indices into the dataset's `names`."""
    indices = []
    for name in listed:
        if str(name) not in names:
            shown = ", ".join(names[:20]) + (f", ... ({len(names)} in all)" if len(names) > 20 else "")
            raise ParamsError(f"{key} names unknown class {name!r}; classes are: {shown}")
        indices.append(names.index(str(name)))
    return indices


def parse_classes(classes, class_names):
    """corrupt.classes as the sorted indices of the classes pairs are made of."""
    names = list(class_names)
    if classes == "all":
        return list(range(len(names)))
    indices = class_indices(classes, names, "corrupt.classes")
    if len(set(indices)) != len(indices):
        raise ParamsError("corrupt.classes lists a class twice; list each class once")
    return sorted(indices)


def parse_pairs(pairs, class_names, seed, classes="all"):
    """corrupt.pairs (already of the schema's shape) as a list of (index_a, index_b), checked against the
    dataset's class names and made of corrupt.classes (`classes`); `seed` (corrupt.seed) draws a {sample: N}."""
    names, allowed = list(class_names), parse_classes(classes, class_names)
    if pairs == "all":
        return list(itertools.combinations(allowed, 2))
    if isinstance(pairs, dict):
        return sample_pairs(pairs["sample"], allowed, seed)
    parsed, seen = [], set()
    for pair in pairs:
        a, b = class_indices(pair, names, "corrupt.pairs")
        outside = [names[i] for i in (a, b) if i not in allowed]
        if outside:
            raise ParamsError(f"corrupt.pairs pairs {outside[0]!r}, which corrupt.classes leaves out: add it there, "
                              "or set corrupt.classes: all")
        if a == b:
            raise ParamsError(f"corrupt.pairs pairs class {pair[0]!r} with itself; name two different classes")
        if frozenset((a, b)) in seen:
            raise ParamsError(f"corrupt.pairs lists the pair {list(pair)} twice; list each pair once")
        seen.add(frozenset((a, b)))
        parsed.append((a, b))
    return parsed


def model_seed(base_seed, pair, trial):
    """A model's own seed: a function of (base seed, pair, trial) only. Clean models use pair (-1, -1)."""
    a, b = pair
    sequence = np.random.SeedSequence(base_seed, spawn_key=(a + 1, b + 1, trial))
    return int(sequence.generate_state(1, dtype=np.uint32)[0])


def swap_changes(labels, pair, fraction, seed):
    """(indices, new labels): `fraction` of each class of `pair`, chosen at random by `seed`, relabeled as the other
    class."""
    rng = np.random.default_rng(seed)
    indices, values = [], []
    for source, target in (pair, pair[::-1]):
        members = np.flatnonzero(labels == source)
        chosen = rng.choice(members, size=int(round(fraction * len(members))), replace=False)
        indices.append(chosen)
        values.append(np.full(len(chosen), target, np.uint8))
    return np.concatenate(indices), np.concatenate(values)


def build(y_train, class_names, params, pairs):
    """The manifest rows and the LabelSets (lesion.contract), clean baselines first, then each pair's trials."""
    rows, changes = [], []
    for trial in range(params["clean_trials"]):
        seed = model_seed(params["seed"], (-1, -1), trial)
        rows.append(("clean", "", "", trial, seed))
        changes.append(([], []))
    for pair in pairs:
        for trial in range(params["trials"]):
            seed = model_seed(params["seed"], pair, trial)
            rows.append(("swap", class_names[pair[0]], class_names[pair[1]], trial, seed))
            changes.append(swap_changes(y_train, pair, params["fraction"], seed))
    manifest = pd.DataFrame(rows, columns=MANIFEST_COLUMNS[1:])
    manifest.insert(0, "model_id", np.arange(len(manifest)))
    return manifest, LabelSets.from_changes(y_train, changes)
