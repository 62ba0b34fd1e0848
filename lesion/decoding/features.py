"""Per-model features of the trained weights that do not depend on the arbitrary order of hidden units.

A hidden layer's units can be permuted (with the next layer's inputs) without changing the network, so raw
weights are no feature to compare models by. What survives every such permutation, per layer group:
- every layer: the sorted singular values of its kernel (as a fan-in x units matrix) and its bias's quantiles;
- the first layer also: per colour channel, the mean weight and the mean absolute weight of its filters (the
  input's channels are not permuted);
- logits also (its output units are the classes, in a fixed order): each class's weight norm and bias, and the
  cosine similarity of every two classes' weight vectors.
All arrays are stacked over models (a pack at a time), so features come from numpy batched linear algebra.
"""

import numpy as np

from lesion.model.networks import Network

QUANTILES = (0.0, 0.25, 0.5, 0.75, 1.0)


def spectrum(kernel):
    """Sorted singular values (descending) of each model's kernel as a fan-in x units matrix: (K, min(fan, units))."""
    matrices = kernel.reshape(kernel.shape[0], -1, kernel.shape[-1]).astype(np.float64)
    return np.linalg.svd(matrices, compute_uv=False)


def bias_quantiles(bias):
    return np.quantile(bias.astype(np.float64), QUANTILES, axis=1).T


def colour_statistics(kernel):
    """The first layer (K, 3, 3, channels, filters): per input channel, the mean weight and the mean |weight| over
    its filters."""
    weights = kernel.astype(np.float64)
    return np.concatenate([weights.mean(axis=(1, 2, 4)), np.abs(weights).mean(axis=(1, 2, 4))], axis=1)


def class_geometry(kernel, bias):
    """logits (K, hidden, classes): per-class weight norms, biases, and the classes' pairwise cosine similarities."""
    weights = kernel.astype(np.float64)
    norms = np.linalg.norm(weights, axis=1)
    unit = weights / np.maximum(norms[:, None, :], 1e-12)
    cosine = np.einsum("khi,khj->kij", unit, unit)
    upper = np.triu_indices(weights.shape[-1], k=1)
    return np.concatenate([norms, bias.astype(np.float64), cosine[:, upper[0], upper[1]]], axis=1)


def layer_features(weights, layers):
    """{layer: (K, n) features} of stacked weights in the network's weight_specs order, `layers` its kernel layers
    (each a kernel and a bias)."""
    features = {}
    for index, layer in enumerate(layers):
        kernel, bias = weights[2 * index], weights[2 * index + 1]
        parts = [spectrum(kernel), bias_quantiles(bias)]
        if layer == layers[0]:
            parts.append(colour_statistics(kernel))
        if layer == layers[-1]:
            parts.append(class_geometry(kernel, bias))
        features[layer] = np.concatenate(parts, axis=1)
    return features


def study_features(manifest):
    """{layer: (models, n)} features of every model of the manifest, rows in model-id order, a pack at a time (a
    study's weights need not fit in memory at once)."""
    from tqdm import tqdm

    from lesion import contract

    contract.check_packs(manifest)
    rows = {}
    for path in tqdm(contract.pack_files(), desc="features", unit="pack"):
        pack = contract.read_pack(path)
        for layer, values in layer_features(pack.weights, Network.from_dict(pack.network).kernel_layers).items():
            rows.setdefault(layer, {}).update(zip(pack.model_ids.tolist(), values))
    return {layer: np.stack([by_id[i] for i in manifest.model_id]) for layer, by_id in rows.items()}
