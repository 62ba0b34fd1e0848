"""Which models the gallery shows: read from the manifest alone, so a bad choice fails before any model loads."""

import numpy as np

from lesion import contract
from lesion.errors import InputError


def pair_label(a, b):
    """The gallery's label of a model trained with pair a/b swapped (the report finds the pair's images by it)."""
    return f"{a}/{b} swapped"


def select_models(manifest, params):
    """(model ids, labels): the first clean model of visualize.trial, then the same trial of each listed pair."""
    rows = manifest[manifest.trial == params["trial"]]
    ids, labels = list(rows.model_id[rows.kind == "clean"][:1]), ["clean"]
    if not ids:
        labels = []
        print(f"note: no clean model of trial {params['trial']} in {contract.MANIFEST}; showing swapped models only")
    for a, b in params["pairs"]:
        match = rows[(rows.kind == "swap") & (rows.class_a + "/" + rows.class_b).isin([f"{a}/{b}", f"{b}/{a}"])]
        if match.empty:
            print(f"note: no {a}/{b} model of trial {params['trial']} in {contract.MANIFEST}; skipped")
            continue
        ids.append(match.model_id.iloc[0])
        labels.append(pair_label(a, b))
    if not ids:
        raise InputError(f"none of the models visualize.pairs and visualize.trial ask for is in {contract.MANIFEST}")
    return np.array(ids), labels
