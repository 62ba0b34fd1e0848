"""Stage `corrupt`: the label sets of the study, one row per model.

For a pair (a, b), `fraction` of class a's training images is relabeled b and the same fraction of class b's is
relabeled a; clean models keep every label. Each model's choice comes from its own seed, derived from
(corrupt.seed, pair, trial), so adding trials or pairs never changes an existing label set.
"""

import itertools
from pathlib import Path

import numpy as np
import pandas as pd

from stages.common import StageError, load_params, require, run_stage, save_csv, save_npz

DATA = Path("data/cifar10.npz")
OUTPUT = Path("data/labels")
MANIFEST = OUTPUT / "manifest.csv"
LABELS = OUTPUT / "labels.npz"
MANIFEST_COLUMNS = ["model_id", "kind", "class_a", "class_b", "trial", "seed"]


def parse_pairs(pairs, class_names):
    """Validate corrupt.pairs and return it as a list of (index_a, index_b)."""
    names = list(class_names)
    if pairs == "all":
        return list(itertools.combinations(range(len(names)), 2))
    if not isinstance(pairs, list) or not pairs:
        raise StageError(f"corrupt.pairs must be 'all' or a list of [class_a, class_b] pairs, got {pairs!r}")
    parsed, seen = [], set()
    for pair in pairs:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise StageError(f"corrupt.pairs entry {pair!r} is not a [class_a, class_b] pair")
        for name in pair:
            if name not in names:
                raise StageError(f"corrupt.pairs names unknown class {name!r}; classes are: {', '.join(names)}")
        a, b = (names.index(name) for name in pair)
        if a == b:
            raise StageError(f"corrupt.pairs pairs class {pair[0]!r} with itself; name two different classes")
        if frozenset((a, b)) in seen:
            raise StageError(f"corrupt.pairs lists the pair {list(pair)} twice; list each pair once")
        seen.add(frozenset((a, b)))
        parsed.append((a, b))
    return parsed


def validate(params, class_names):
    """Check every param before any work; return the parsed pairs."""
    fraction = params["fraction"]
    if not isinstance(fraction, (int, float)) or not 0 < fraction <= 1:
        raise StageError(f"corrupt.fraction must be in (0, 1], got {fraction!r}")
    for key in ("trials", "clean_trials"):
        value = params[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < 2:
            raise StageError(f"corrupt.{key} must be an integer of at least 2 (the statistics need two), got {value!r}")
    if not isinstance(params["seed"], int) or params["seed"] < 0:
        raise StageError(f"corrupt.seed must be a non-negative integer, got {params['seed']!r}")
    return parse_pairs(params["pairs"], class_names)


def model_seed(base_seed, pair, trial):
    """A model's own seed: a function of (base seed, pair, trial) only. Clean models use pair (-1, -1)."""
    a, b = pair
    sequence = np.random.SeedSequence(base_seed, spawn_key=(a + 1, b + 1, trial))
    return int(sequence.generate_state(1, dtype=np.uint32)[0])


def swap_labels(labels, pair, fraction, seed):
    """Relabel `fraction` of each class of `pair` as the other class, chosen at random by `seed`."""
    rng = np.random.default_rng(seed)
    corrupted = labels.copy()
    for source, target in (pair, pair[::-1]):
        members = np.flatnonzero(labels == source)
        chosen = rng.choice(members, size=int(round(fraction * len(members))), replace=False)
        corrupted[chosen] = target
    return corrupted


def build(y_train, class_names, params, pairs):
    """The manifest rows and the label matrix, clean baselines first, then each pair's trials."""
    rows, label_sets = [], []
    for trial in range(params["clean_trials"]):
        seed = model_seed(params["seed"], (-1, -1), trial)
        rows.append(("clean", "", "", trial, seed))
        label_sets.append(y_train)
    for pair in pairs:
        for trial in range(params["trials"]):
            seed = model_seed(params["seed"], pair, trial)
            rows.append(("swap", class_names[pair[0]], class_names[pair[1]], trial, seed))
            label_sets.append(swap_labels(y_train, pair, params["fraction"], seed))
    manifest = pd.DataFrame(rows, columns=MANIFEST_COLUMNS[1:])
    manifest.insert(0, "model_id", np.arange(len(manifest)))
    return manifest, np.stack(label_sets).astype(np.uint8)


def main():
    params = load_params("corrupt")
    require(DATA, "download")
    with np.load(DATA) as data:
        y_train, class_names = data["y_train"], [str(name) for name in data["class_names"]]
    pairs = validate(params, class_names)
    manifest, labels = build(y_train, class_names, params, pairs)
    save_csv(MANIFEST, manifest)
    save_npz(LABELS, labels=labels)
    print(f"wrote {len(manifest)} label sets ({len(pairs)} pairs) to {OUTPUT}")


if __name__ == "__main__":
    run_stage(main, outputs=[OUTPUT])
