"""Effects over training: the lesion model per evaluated epoch finds an effect where it is planted, not before."""

import numpy as np
import pandas as pd

from lesion.stats.by_epoch import effects_by_epoch
from lesion.stats.lesion_model import lesion_effects
from lesion.study import Study
from tests.fixtures.study import EFFECT, HELPS, make_manifest, make_per_class, make_per_class_epochs

PARAMS = {"alpha": 0.05, "seed": 0, "null_draws": 400, "permutations": 50}


def test_an_effect_planted_from_epoch_three_is_found_from_epoch_three():
    manifest = make_manifest(trials=3, clean_trials=4)
    per_class_epochs = make_per_class_epochs(manifest)
    table = effects_by_epoch(manifest, per_class_epochs, PARAMS)
    assert sorted(set(table.epoch)) == [1, 3, 5] and len(table) == 3 * 90
    cell = table[(table.target == HELPS[0]) & (table.confused == HELPS[1])].set_index("epoch")
    assert abs(cell.specific_bits[1]) < 0.03 and cell.specific_p_fdr[1] > 0.05
    for epoch in (3, 5):
        assert abs(cell.specific_bits[epoch] - EFFECT) < 0.03 and cell.specific_p_fdr[epoch] < 1e-3
        assert cell.specific_lo[epoch] < cell.specific_bits[epoch] < cell.specific_hi[epoch]


def test_each_epoch_is_the_lesion_model_of_that_epoch_alone():
    manifest = make_manifest(trials=2, clean_trials=2, pairs=[("cat", "dog"), ("automobile", "truck"),
                                                              ("cat", "bird")])
    per_class_epochs = make_per_class_epochs(manifest)
    table = effects_by_epoch(manifest, per_class_epochs, PARAMS)
    alone = lesion_effects(Study(manifest, make_per_class(manifest, seed=5)), PARAMS)
    got = table[table.epoch == 5].reset_index(drop=True)
    np.testing.assert_array_equal(got.specific_bits.to_numpy(), alone.specific_bits.to_numpy())
    np.testing.assert_array_equal(got.effect_p_fdr.to_numpy(), alone.effect_p_fdr.to_numpy())


def test_no_evaluated_epoch_gives_an_empty_table_with_the_columns():
    manifest = make_manifest(trials=2, clean_trials=2)
    empty = pd.DataFrame(columns=["model_id", "epoch", "class", "loglik_bits", "accuracy"])
    table = effects_by_epoch(manifest, empty, PARAMS)
    assert len(table) == 0 and "specific_bits" in table.columns
