"""How far learning a class moves the predicted distribution on a target's test images: KL and JS in bits."""

import math

import numpy as np
import pandas as pd
from scipy.special import rel_entr


def distribution(rows):
    """The mean of probability vectors, renormalized (float32 softmax sums drift from 1); None when no rows."""
    if len(rows) == 0:
        return None
    mean = rows.astype(float).mean(axis=0)
    return mean / mean.sum()


def kl_bits(p, q):
    """Kullback-Leibler divergence D(p || q) in bits."""
    return float(rel_entr(p, q).sum() / math.log(2))


def js_bits(p, q):
    """Jensen-Shannon divergence in bits (0 to 1)."""
    m = (np.asarray(p) + np.asarray(q)) / 2
    return (kl_bits(p, m) + kl_bits(q, m)) / 2


def divergences(study, mean_prob):
    """How the predictions on T's test images move when C is learned.

    P: mean predicted distribution on T's images over swap models that corrupted neither T nor C; Q: the same over
    all swap models that kept T, the ones that corrupted C included. NaN where there is nothing to compare: no
    model kept both, or none corrupted C while keeping T (P and Q would be the same models', KL 0 by construction,
    which is most cells of a study that samples a few of a 100-class dataset's pairs).
    """
    rows = []
    for t, target in enumerate(study.classes):
        q = distribution(mean_prob[study.pair_lacks(t), :, t])
        for c, confused in enumerate(study.classes):
            if c == t:
                continue
            p = distribution(mean_prob[study.pair_lacks(t, c), :, t])
            lesioned_apart = (study.in_pair[:, c] & study.pair_lacks(t)).any()
            kl, js = (kl_bits(p, q), js_bits(p, q)) if p is not None and lesioned_apart else (math.nan, math.nan)
            rows.append(dict(target=target, confused=confused, kl_bits=kl, js_bits=js))
    return pd.DataFrame(rows)
