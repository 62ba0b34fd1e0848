"""Which packs count as trained (the same models with the current fingerprint), and a diverging run's error."""

import numpy as np
import pytest

from lesion import contract, params
from lesion.errors import InputError, ParamsError, TrainingError
from lesion.packs import check_inputs, describe_models, finished, sweep, train_all
from tests.conftest import REPO
from tests.fixtures.tiny import TRAIN, write_inputs


def test_a_pack_is_finished_only_for_the_same_models_and_fingerprint(tmp_path):
    path = tmp_path / "pack_00000.npz"
    ids = np.array([0, 2])
    assert finished(path, ids, "abc") is None
    history = np.arange(4.0).reshape(2, 1, 2)
    contract.write_pack(path, contract.Pack(ids, "abc", history, [np.zeros((2, 3))]))
    np.testing.assert_array_equal(finished(path, ids, "abc"), history)  # its history, read back
    assert finished(path, ids, "abd") is None  # changed params, code, seeds or labels
    assert finished(path, np.array([0, 1]), "abc") is None  # another plan


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


def test_labels_outside_the_classes_and_a_batch_larger_than_the_data_are_refused():
    settings = {"batch_size": 8}
    with pytest.raises(InputError, match=r"labels.npz holds label 10, outside 0..9: rerun dvc repro corrupt"):
        check_inputs(settings, np.full((2, 20), 10, np.uint8))
    with pytest.raises(ParamsError, match="train.batch_size 8 is larger than the 5 training images"):
        check_inputs(settings, np.zeros((2, 5), np.uint8))


def test_a_failed_write_stops_training_at_once(tmp_path, monkeypatch):
    """A full disk: training stops before the pack after the one that could not be written."""
    monkeypatch.chdir(tmp_path)
    write_inputs(tmp_path)
    settings = {**params.load("train", path=REPO / "params.yaml"), **TRAIN, "pack_size": 1, "epochs": 1}
    trained = []

    def no_space(path, pack):
        trained.append(path)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(contract, "write_pack", no_space)
    with pytest.raises(TrainingError) as error:
        train_all(settings, contract.read_manifest(), contract.read_labels(), contract.read_dataset("x_train")["x_train"])
    assert str(error.value).startswith("cannot write data/models/pack_00000.npz: No space left on device (")
    assert "free space and rerun dvc repro train, finished packs are kept" in str(error.value)
    assert len(trained) <= 2  # of six packs


def test_stale_temporaries_and_packs_of_an_older_plan_are_swept(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    contract.MODELS_DIR.mkdir(parents=True)
    for name in (".pack_00001.npz.x1y2.tmp", "pack_00009.npz", "pack_00000.npz"):
        (contract.MODELS_DIR / name).write_bytes(b"old")
    sweep([contract.pack_path(0)])
    assert sorted(p.name for p in contract.MODELS_DIR.iterdir()) == ["pack_00000.npz"]


def test_a_damaged_pack_is_not_finished(tmp_path, capsys):
    path = tmp_path / "pack_00000.npz"
    path.write_bytes(b"")
    assert finished(path, np.array([0]), "abc") is None
    assert capsys.readouterr().out.startswith(f"note: {path} is damaged (")
