"""Model groups of a study: who lost which class, and per_class tables that do not fit the manifest."""

import numpy as np
import pytest

from lesion.errors import InputError
from lesion.study import Study
from tests.fixtures.study import make_manifest, make_per_class


def test_groups_and_values():
    manifest = make_manifest(trials=2, clean_trials=1, pairs=[("cat", "dog"), ("bird", "frog")])
    per_class = make_per_class(manifest)
    study = Study(manifest, per_class)
    cat, bird = study.classes.index("cat"), study.classes.index("bird")
    assert study.clean.tolist() == [True, False, False, False, False]
    assert study.in_pair[:, cat].tolist() == [False, True, True, False, False]
    assert study.pair_lacks(cat).tolist() == [False, False, False, True, True]
    assert not study.pair_lacks(cat, bird).any()
    values = study.values("loglik_bits")
    row = per_class[(per_class.model_id == 3) & (per_class["class"] == "cat")]
    assert values.shape == (5, 10) and values[3, cat] == row.loglik_bits.item()


def test_per_class_must_cover_every_model_and_class_once():
    manifest = make_manifest(trials=2, clean_trials=2, pairs=[("cat", "dog")])
    per_class = make_per_class(manifest)
    with pytest.raises(InputError, match="must hold one row per"):
        Study(manifest, per_class.iloc[:-1])
    with pytest.raises(InputError, match="must hold one row per"):
        Study(manifest.iloc[:-1], per_class)
    assert np.isfinite(Study(manifest, per_class).values("accuracy")).all()
