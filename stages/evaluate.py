"""Stage `evaluate`: every model on every test image -> per-class log-likelihood and accuracy, confusion.

Per model and class c, `loglik_bits` is the study's binary log-likelihood: the mean over all test images of
log2 p(c|x) for images of class c and log2(1 - p(c|x)) for the others, probabilities clipped away from 0 and 1
(stages/evaluator.py). `mean_prob[m, i, j]` is the mean probability of class i over test images of class j.
Models are evaluated a pack at a time, all sums taken on the device by one compiled function.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from stages.cnn import MODELS_DIR, load_weights, pack_files
from stages.common import StageError, load_params, require, run_stage, save_csv, save_npz, save_text, use_backend

DATA = Path("data/cifar10.npz")
MANIFEST = Path("data/labels/manifest.csv")
OUTPUT = Path("data/eval")
PER_CLASS = OUTPUT / "per_class.csv"
CONFUSION = OUTPUT / "confusion.npz"
METRICS = Path("metrics/eval.json")


def summary(manifest, per_class):
    """Mean clean test accuracy, and swap models' mean accuracy on their own two classes and on the rest."""
    table = per_class.merge(manifest[["model_id", "kind", "class_a", "class_b"]], on="model_id")
    swapped = (table["class"] == table.class_a) | (table["class"] == table.class_b)
    swap = table.kind == "swap"
    return {
        "clean_accuracy": float(table.accuracy[table.kind == "clean"].mean()),
        "swap_pair_accuracy": float(table.accuracy[swap & swapped].mean()),
        "swap_other_accuracy": float(table.accuracy[swap & ~swapped].mean()),
        "n_models": int(len(manifest)),
    }


def main():
    use_backend(load_params("train")["backend"])
    from stages.evaluator import PackEvaluator

    for path in (DATA, MANIFEST):
        require(path, "train")
    if not pack_files():
        raise StageError(f"no trained models in {MODELS_DIR}: run the train stage first (dvc repro train)")
    manifest = pd.read_csv(MANIFEST, keep_default_na=False)
    with np.load(DATA) as data:
        x_test, y_test, class_names = data["x_test"], data["y_test"], [str(c) for c in data["class_names"]]
    n_models, n_classes = len(manifest), len(class_names)
    loglik = np.zeros((n_models, n_classes), np.float32)
    accuracy = np.zeros_like(loglik)
    mean_prob = np.zeros((n_models, n_classes, n_classes), np.float32)
    evaluators = {}
    for path in tqdm(pack_files(), desc="evaluate", unit="pack"):
        ids, weights = load_weights(models_dir=MODELS_DIR, files=[path])
        if len(ids) not in evaluators:
            evaluators[len(ids)] = PackEvaluator(len(ids))
        loglik[ids], accuracy[ids], mean_prob[ids] = evaluators[len(ids)].evaluate(weights, x_test, y_test, n_classes)
    per_class = pd.DataFrame({
        "model_id": np.repeat(np.arange(n_models), n_classes),
        "class": np.tile(class_names, n_models),
        "loglik_bits": loglik.ravel(),
        "accuracy": accuracy.ravel(),
    })
    save_csv(PER_CLASS, per_class)
    save_npz(CONFUSION, mean_prob=mean_prob)
    metrics = summary(manifest, per_class)
    save_text(METRICS, json.dumps(metrics, indent=2) + "\n")
    print(json.dumps(metrics))


if __name__ == "__main__":
    run_stage(main, outputs=[OUTPUT, METRICS])
