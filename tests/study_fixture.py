"""A synthetic lesion study in the exact formats the evaluate and train stages write, with planted effects.

Every class's log-likelihood is noise around a base, much lower when the class is in the model's swapped pair, and:
- corrupting truck lowers automobile (learning truck helps automobile: t > 0 for automobile<-truck);
- corrupting cat raises dog (learning cat hurts dog: t < 0 for dog<-cat);
- clean models score a little higher on every class than swap models that kept it.
"""

import itertools
import json

import numpy as np
import pandas as pd
from matplotlib.image import imsave

from stages.common import save_npz
from tests.cifar_fixture import CLASS_NAMES

HELPS = ("automobile", "truck")
HURTS = ("dog", "cat")
NULL = ("bird", "frog")
EFFECT = 0.1


def make_manifest(trials=3, clean_trials=4, pairs=None):
    """Rows as the corrupt stage writes them: clean models first, then each pair's trials."""
    pairs = pairs or list(itertools.combinations(CLASS_NAMES, 2))
    rows = [("clean", "", "", trial) for trial in range(clean_trials)]
    rows += [("swap", a, b, trial) for a, b in pairs for trial in range(trials)]
    manifest = pd.DataFrame(rows, columns=["kind", "class_a", "class_b", "trial"])
    manifest.insert(0, "model_id", np.arange(len(manifest)))
    manifest["seed"] = 1000 + manifest.model_id
    return manifest


def make_per_class(manifest, seed=0, shift=0.0):
    """One row per (model, class), the planted effects included; `shift` moves every log-likelihood."""
    rng = np.random.default_rng(seed)
    rows = []
    for model in manifest.itertuples():
        pair = {model.class_a, model.class_b}
        for name in CLASS_NAMES:
            loglik = -0.3 + shift + rng.normal(0, 0.02)
            if model.kind == "clean":
                loglik += 0.03
            elif name in pair:
                loglik -= 0.3
            elif name == HELPS[0] and HELPS[1] in pair:
                loglik -= EFFECT
            elif name == HURTS[0] and HURTS[1] in pair:
                loglik += EFFECT
            accuracy = float(np.clip(0.7 + 2 * (loglik + 0.3) + rng.normal(0, 0.01), 0, 1))
            rows.append((model.model_id, name, loglik, accuracy))
    return pd.DataFrame(rows, columns=["model_id", "class", "loglik_bits", "accuracy"])


def make_mean_prob(manifest, seed=0):
    """(models, 10, 10) mean predicted probabilities: columns (true classes) are distributions."""
    rng = np.random.default_rng(seed)
    mean_prob = rng.dirichlet(np.ones(10), size=(len(manifest), 10)).transpose(0, 2, 1) + 4 * np.eye(10)
    return (mean_prob / mean_prob.sum(axis=1, keepdims=True)).astype(np.float32)


def write_training(project, epochs=4):
    """Per-epoch TSVs in dvclive's layout and format."""
    for kind in ("clean", "swap"):
        folder = project / "metrics/training/plots/metrics" / kind
        folder.mkdir(parents=True, exist_ok=True)
        steps = np.arange(epochs)
        pd.DataFrame({"step": steps, "loss": 2 / (steps + 1)}).to_csv(folder / "loss.tsv", sep="\t", index=False)
        pd.DataFrame({"step": steps, "accuracy": 0.1 + 0.15 * steps}).to_csv(
            folder / "accuracy.tsv", sep="\t", index=False)


def write_vis(project, names=("saliency.png", "filters/conv1.png")):
    """A few PNGs standing in for the visualize stage's output."""
    for name in names:
        path = project / "plots/vis" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        imsave(path, np.random.default_rng(0).random((8, 8, 3)))


def write_study(project, trials=3, clean_trials=4, pairs=None, seed=0, shift=0.0, training=True, vis=True):
    """Write every input of the stats and plots stages into `project`; returns the manifest."""
    manifest = make_manifest(trials, clean_trials, pairs)
    per_class = make_per_class(manifest, seed, shift)
    (project / "data/labels").mkdir(parents=True, exist_ok=True)
    (project / "data/eval").mkdir(parents=True, exist_ok=True)
    (project / "metrics").mkdir(exist_ok=True)
    manifest.to_csv(project / "data/labels/manifest.csv", index=False)
    per_class.to_csv(project / "data/eval/per_class.csv", index=False)
    save_npz(project / "data/eval/confusion.npz", mean_prob=make_mean_prob(manifest, seed))
    save_npz(project / "data/cifar10.npz", class_names=np.array(CLASS_NAMES))
    accuracy = per_class.merge(manifest, on="model_id").groupby("kind").accuracy.mean()
    (project / "metrics/eval.json").write_text(json.dumps(
        {"clean_accuracy": accuracy["clean"], "swap_pair_accuracy": 0.5, "swap_other_accuracy": accuracy["swap"],
         "n_models": len(manifest)}, indent=2))
    if training:
        write_training(project)
    if vis:
        write_vis(project)
    return manifest
