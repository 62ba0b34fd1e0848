"""Packing: the trial-major plan and the pack size a setting gives."""

import pandas as pd

from lesion.model.packing import choose_pack_size, plan_packs


def test_plan_packs_holds_one_trial_of_every_condition():
    manifest = pd.DataFrame({"model_id": range(6), "trial": [0, 1, 0, 1, 0, 1]})
    assert [list(p) for p in plan_packs(manifest, 3)] == [[0, 2, 4], [1, 3, 5]]


def test_an_integer_pack_size_is_capped_at_the_study():
    assert choose_pack_size(4, 10) == 4 and choose_pack_size(64, 10) == 10
