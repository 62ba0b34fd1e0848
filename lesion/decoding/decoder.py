"""Which pair did a model lose? Cross-validated logistic regression (scikit-learn) on each layer's
permutation-invariant features (lesion.decoding.features), against a permutation baseline.

For each feature set (each layer alone, and all together) the decoder's accuracy over stratified folds is compared
with the accuracies of the same decoder on shuffled pairs (`weights.permutations` shuffles): a set reads the lesion
when it beats every shuffle (p <= 1 / (permutations + 1)) and chance. "Readable from" is the earliest layer from
which every later layer reads it.
"""

import warnings

import numpy as np
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix
from sklearn.model_selection import StratifiedKFold, cross_val_predict, permutation_test_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from tqdm import tqdm

from lesion.errors import InputError
from lesion.study import CLEAN

ALL = "all"


def decoder():
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))


def folds_for(pairs, params):
    """Stratified folds, as many as weights.folds and the rarest pair allow; a pair needs two models to be split."""
    _, counts = np.unique(pairs, return_counts=True)
    if len(counts) < 2 or counts.min() < 2:
        raise InputError(f"decoding the lesion from the weights needs two or more pairs with two or more models each "
                         f"(this study has {len(counts)} pairs, the rarest with {counts.min() if len(counts) else 0} "
                         "models): raise corrupt.trials or add pairs")
    return StratifiedKFold(min(params["folds"], int(counts.min())), shuffle=True, random_state=params["seed"])


def check_decodable(conditions, params):
    """Fail before any weights are read when the study's pairs cannot be cross-validated (folds_for's error)."""
    conditions = np.asarray(conditions)
    folds_for(conditions[conditions != CLEAN], params)


def feature_sets(features):
    """{name: (models, n)}: each layer's features (input to output, as `features` holds them), then all of them
    together."""
    sets = dict(features)
    sets[ALL] = np.concatenate(list(features.values()), axis=1)
    return sets


def score_set(X, pairs, folds, params):
    """Cross-validated accuracy of one feature set and its permutation baseline."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        accuracy, null, p = permutation_test_score(decoder(), X, pairs, cv=folds, n_permutations=params["permutations"],
                                                   random_state=params["seed"], n_jobs=-1)
    return {"n_features": int(X.shape[1]), "accuracy": float(accuracy), "permutation_mean": float(null.mean()),
            "permutation_max": float(null.max()), "p": float(p)}


def reads(result, chance, permutations):
    """A feature set reads the lesion: better than chance and than every shuffle of the pairs."""
    return result["accuracy"] > chance and result["p"] <= 1 / (permutations + 1) + 1e-12


def readable_from(results, chance, permutations):
    """The earliest layer from which every later layer reads the lesion, or None (`results` by layer, input to
    output, and ALL)."""
    earliest = None
    for layer in reversed([name for name in results if name != ALL]):
        if not reads(results[layer], chance, permutations):
            break
        earliest = layer
    return earliest


def decode(features, conditions, params):
    """Decoders of the swap models' pairs from `features` ({layer: (models, n)}, rows in `conditions`' order, where
    each condition is "clean" or "class_a/class_b").

    Returns (metrics for weight_decoding.json, arrays for decoding.npz: the 2-D PCA embedding of all models' features
    and the confusion matrix over the pairs of the decoder of the most accurate feature set, `confusion_from`).
    """
    conditions = np.asarray(conditions)
    swap = conditions != CLEAN
    pairs = conditions[swap]
    folds = folds_for(pairs, params)
    sets = feature_sets(features)
    # Each set's decoder is fitted folds x (permutations + 1) times: about 40 s for the default study on two CPU
    # cores (benchmarks/weights_decoding.py), so a bar.
    results = {name: score_set(X[swap], pairs, folds, params)
               for name, X in tqdm(sets.items(), desc="decoders", unit="feature set")}
    names, counts = np.unique(pairs, return_counts=True)
    chance = float(counts.max() / counts.sum())
    best = max(results, key=lambda name: results[name]["accuracy"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        predicted = cross_val_predict(decoder(), sets[best][swap], pairs, cv=folds)
    pca = PCA(2, svd_solver="full")
    embedding = pca.fit_transform(StandardScaler().fit_transform(sets[ALL]))
    metrics = {"n_models": int(swap.sum()), "n_pairs": int(len(names)), "chance": chance, "folds": folds.n_splits,
               "permutations": params["permutations"],
               "readable_from": readable_from(results, chance, params["permutations"]) or "none",
               "confusion_from": best, "feature_sets": results}
    arrays = {"conditions": conditions, "embedding": embedding.astype(np.float32),
              "explained_variance": pca.explained_variance_ratio_.astype(np.float32), "pairs": names,
              "confusion": confusion_matrix(pairs, predicted, labels=names).astype(np.int32)}
    return metrics, arrays
