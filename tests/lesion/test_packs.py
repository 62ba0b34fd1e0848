"""Which packs count as trained (the same models with the current fingerprint), and a diverging run's error."""

import numpy as np
import pytest

from lesion import contract, params
from lesion.errors import TrainingError
from lesion.packs import describe_models, finished, train_all
from tests.conftest import REPO
from tests.fixtures.tiny import TRAIN, write_inputs


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


def test_a_diverging_loss_names_the_pack_models_and_epoch(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_inputs(tmp_path)
    settings = {**params.load("train", path=REPO / "params.yaml"), **TRAIN, "learning_rate": 1e12, "epochs": 3}
    x_train = contract.read_dataset("x_train")["x_train"]
    with pytest.raises(TrainingError, match=r"^loss became NaN or infinite in pack 0 \(models 0, 2\) at epoch \d: "
                                            "lower train.learning_rate or use precision float32$"):
        train_all(settings, contract.read_manifest(), contract.read_labels(), x_train)
