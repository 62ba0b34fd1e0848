"""Figures of the weights stage's decoders (data/weights/decoding.npz): the models' weight features in two
dimensions, and which pairs the best decoder tells apart."""

import matplotlib.pyplot as plt
import numpy as np

from lesion.report.figures import MIN_FONT, WIDTH, class_ticks, square_side

LEGEND_PAIRS = 12  # up to this many pairs get a legend; of more, this many are named at their centre


def distinct_pairs(conditions, embedding, pairs, count):
    """The `count` pairs whose models' centre lies farthest from the centre of all models: the lesions this view
    tells apart best, worth naming where naming every pair would bury the points under labels."""
    centre = embedding.mean(axis=0)
    distance = [np.linalg.norm(embedding[conditions == pair].mean(axis=0) - centre) for pair in pairs]
    return [pairs[i] for i in np.argsort(distance, kind="stable")[::-1][:count]]


def embedding_figure(arrays):
    """The first two principal components of every model's weight features, a colour per pair, clean in grey."""
    conditions, embedding, pairs = arrays["conditions"], arrays["embedding"], list(arrays["pairs"])
    explained = arrays["explained_variance"]
    fig, ax = plt.subplots(figsize=(8.5, 7))
    clean = conditions == "clean"
    ax.scatter(*embedding[clean].T, s=14, color="0.55", marker="x", label="clean")
    palette = plt.get_cmap("tab10" if len(pairs) <= 10 else "tab20")  # tab20's neighbours look alike
    named = distinct_pairs(conditions, embedding, pairs, LEGEND_PAIRS) if len(pairs) > LEGEND_PAIRS else []
    for index, pair in enumerate(pairs):
        members = embedding[conditions == pair]
        colour = palette(index % palette.N)
        ax.scatter(*members.T, s=12, color=colour, alpha=0.75, label=pair.replace("/", " / "))
        if pair in named:
            ax.annotate(pair.replace("/", "/\n"), members.mean(axis=0), fontsize=MIN_FONT, ha="center", va="center",
                        bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor=colour, alpha=0.8))
    if named:
        ax.set_title(f"Every model's permutation-invariant weight features, in two dimensions\n(named: the "
                     f"{len(named)} of {len(pairs)} pairs whose models' centre lies farthest out)")
    else:
        ax.legend(title="swapped pair", loc="best", fontsize=MIN_FONT)
        ax.set_title("Every model's permutation-invariant weight features, in two dimensions")
    ax.set_xlabel(f"principal component 1 ({explained[0]:.0%} of the variance)")
    ax.set_ylabel(f"principal component 2 ({explained[1]:.0%} of the variance)")
    fig.tight_layout()
    return fig


def confusion_figure(arrays, metrics):
    """The best decoder's cross-validated predictions: rows the true pair, columns the decoded one, as shares."""
    counts = arrays["confusion"].astype(float)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    pairs = [pair.replace("/", " / ") for pair in arrays["pairs"]]
    size = min(WIDTH, max(5.5, 3 + 0.2 * len(pairs)))  # at least wide enough for the two-line title
    fig, ax = plt.subplots(figsize=(min(WIDTH, size + 1.2), size))
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    side = square_side(*fig.get_size_inches(), pairs)
    class_ticks(ax.xaxis, pairs, side, rotation=60, ha="right")
    class_ticks(ax.yaxis, pairs, side)
    ax.set_xlabel("decoded pair")
    ax.set_ylabel("swapped pair")
    best = metrics["feature_sets"][metrics["confusion_from"]]
    ax.set_title(f"Decoding the swapped pair from the {metrics['confusion_from']} features\naccuracy "
                 f"{best['accuracy']:.0%}, chance {metrics['chance']:.0%}")
    fig.colorbar(image, ax=ax, label="share of the pair's models", shrink=0.8, fraction=0.04)
    fig.tight_layout()
    return fig
