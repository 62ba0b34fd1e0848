"""Which packs count as trained: the same models with the current fingerprint, nothing else."""

import numpy as np

from lesion import contract
from lesion.packs import describe_models, finished


def test_a_pack_is_finished_only_for_the_same_models_and_fingerprint(tmp_path):
    path = tmp_path / "pack_00000.npz"
    ids = np.array([0, 2])
    assert not finished(path, ids, "abc")
    contract.write_pack(path, contract.Pack(ids, "abc", np.zeros((2, 1, 2)), [np.zeros((2, 3))]))
    assert finished(path, ids, "abc")
    assert not finished(path, ids, "abd")  # changed params, code, seeds or labels
    assert not finished(path, np.array([0, 1]), "abc")  # another plan


def test_models_are_named_by_id_and_long_lists_cut():
    assert describe_models(np.array([3, 5])) == "3, 5"
    assert describe_models(np.arange(10)) == "0, 1, 2, 3, 4, 5, 6, 7, ..."
