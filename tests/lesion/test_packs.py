"""Finished models are found by their key whatever their id or pack; a grown study trains only its new models; a
diverging run's error."""

import numpy as np
import pandas as pd
import pytest

from lesion import contract, params
from lesion.errors import InputError, ParamsError, TrainingError
from lesion.bench import describe_models
from lesion.executors import LocalExecutor
from lesion.model.networks import Network
from lesion.packs import check_inputs, free_pack_paths, plan_packs, reuse_finished, sweep_temporaries, train_all
from tests.conftest import REPO
from tests.fixtures.tiny import TRAIN, write_inputs


def write_pack(index, ids, keys):
    """A pack whose copies' weights and history are their keys' numbers, so a copy is known wherever it lands."""
    numbers = np.array([int(key[1:]) for key in keys], np.float32)
    history = np.repeat(numbers[:, None, None], 3, axis=2)
    contract.write_pack(contract.pack_path(index), contract.Pack(np.array(ids), np.array(keys), history,
                                                                 [numbers[:, None] * np.ones((1, 3), np.float32)]))


def test_finished_models_are_found_by_key_whatever_their_id_or_pack(tmp_path, monkeypatch):
    """A study that grew (k5, k6 new, ids shifted) and lost a model (k2): kept packs keep their bytes, renamed ones
    are rewritten with the current ids, packs of unwanted models only are removed."""
    monkeypatch.chdir(tmp_path)
    contract.MODELS_DIR.mkdir(parents=True)
    write_pack(0, [0, 1], ["k0", "k1"])  # same ids now: untouched
    write_pack(1, [2, 3], ["k2", "k3"])  # k2 dropped, k3 now model 4
    write_pack(2, [4], ["k4"])  # k4 now model 2
    write_pack(3, [5], ["k9"])  # not wanted at all
    untouched = contract.pack_path(0).read_bytes()
    keys = ["k0", "k1", "k4", "k5", "k3", "k6"]
    histories = reuse_finished(keys, np.arange(6))
    assert sorted(histories) == [0, 1, 2, 4]
    assert [histories[i][0, 0] for i in (0, 1, 2, 4)] == [0, 1, 4, 3]  # each model's own history
    assert contract.pack_path(0).read_bytes() == untouched
    assert [p.name for p in contract.pack_files()] == ["pack_00000.npz", "pack_00001.npz", "pack_00002.npz"]
    renamed = contract.read_pack(contract.pack_path(1))
    assert renamed.model_ids.tolist() == [4] and renamed.keys.tolist() == ["k3"] and renamed.weights[0][0, 0] == 3
    assert contract.read_pack(contract.pack_path(2)).model_ids.tolist() == [2]
    assert free_pack_paths(2) == [contract.pack_path(3), contract.pack_path(4)]


def test_a_model_held_twice_is_kept_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    contract.MODELS_DIR.mkdir(parents=True)
    write_pack(0, [0], ["k0"])
    write_pack(1, [0, 1], ["k0", "k1"])
    assert sorted(reuse_finished(["k0", "k1"], np.arange(2))) == [0, 1]
    assert [contract.read_pack(p).keys.tolist() for p in contract.pack_files()] == [["k0"], ["k1"]]


def test_a_grown_study_trains_only_its_new_models(tmp_path, monkeypatch):
    """Two clean models trained, then five wanted: three are trained, and the first two keep their packs' bytes."""
    monkeypatch.chdir(tmp_path)
    write_inputs(tmp_path)
    settings = {**params.load("train", path=REPO / "params.yaml"), **TRAIN, "pack_size": 1, "epochs": 1}
    manifest, labels = contract.read_manifest(), contract.read_labels()
    data = contract.read_dataset("cifar10", "x_train", "y_train", "x_test", "y_test")
    inputs = (Network(), data["x_train"], data["y_train"], (data["x_test"], data["y_test"]))
    executor = LocalExecutor(settings)
    first, _ = train_all(executor, manifest[manifest.kind == "clean"], labels, *inputs)
    before = {p.name: p.read_bytes() for p in contract.pack_files()}
    history, pack_size = train_all(executor, manifest.iloc[:5], labels, *inputs)
    assert pack_size == 1 and history.shape == (5, 1, 3)
    np.testing.assert_array_equal(history[:2], first)
    assert before == {p.name: p.read_bytes() for p in contract.pack_files()[:2]}
    assert len(contract.pack_files()) == 5


def test_plan_packs_holds_one_trial_of_every_condition():
    manifest = pd.DataFrame({"model_id": range(6), "trial": [0, 1, 0, 1, 0, 1]})
    assert [list(p) for p in plan_packs(manifest, 3)] == [[0, 2, 4], [1, 3, 5]]


def test_models_are_named_by_id_and_long_lists_cut():
    assert describe_models(np.array([3, 5])) == "3, 5"
    assert describe_models(np.arange(10)) == "0, 1, 2, 3, 4, 5, 6, 7, ..."


def test_a_diverging_loss_names_the_pack_models_and_epoch(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_inputs(tmp_path)
    settings = {**params.load("train", path=REPO / "params.yaml"), **TRAIN, "learning_rate": 1e12, "epochs": 3}
    data = contract.read_dataset("cifar10", "x_train", "y_train", "x_test", "y_test")
    with pytest.raises(TrainingError, match=r"^loss became NaN or infinite in pack_00000 \(models 0, 2\) at epoch \d: "
                                            "lower train.learning_rate or use precision float32$"):
        train_all(LocalExecutor(settings), contract.read_manifest(), contract.read_labels(), Network(), data["x_train"],
                  data["y_train"], (data["x_test"], data["y_test"]))


def test_labels_outside_the_classes_a_batch_larger_than_the_data_and_a_late_schedule_are_refused():
    settings = {"batch_size": 8, "epochs": 3, "kernels": "xla", "schedule": {"corrupt_from": 0, "corrupt_until": None}}
    base = np.zeros(20, np.uint8)
    images = np.zeros((20, 32, 32, 3), np.uint8)
    out_of_range = contract.LabelSets.from_rows([base, np.where(np.arange(20) == 7, 10, 0)], base)
    with pytest.raises(InputError, match=r"labels.npz holds label 10, outside 0..9: rerun dvc repro corrupt"):
        check_inputs(settings, out_of_range, Network(), images)
    check_inputs(settings, out_of_range, Network(n_classes=11), images)  # eleven classes: label 10 is one of them
    five = contract.LabelSets.from_rows(np.zeros((2, 5), np.uint8), np.zeros(5, np.uint8))
    with pytest.raises(InputError, match="labels.npz labels 5 images, the dataset has 20: rerun dvc repro corrupt"):
        check_inputs(settings, five, Network(), images)
    with pytest.raises(ParamsError, match="train.batch_size 8 is larger than the 5 training images"):
        check_inputs(settings, five, Network(), images[:5])
    late = dict(settings, batch_size=1, schedule={"corrupt_from": 3, "corrupt_until": None})
    with pytest.raises(ParamsError, match=r"^train.schedule.corrupt_from 3 is not an epoch of the 3 trained \(they "
                                          r"count from 0\): lower it, or raise train.epochs$"):
        check_inputs(late, five, Network(), images[:5])
    with pytest.raises(ParamsError, match=r"^train.kernels: pallas is written for tutorial_cnn on 32x32x3 images, not "
                                          r"top_down on 32x32x3 images, 10 classes \(117,386 parameters\): set "
                                          r"train.kernels: xla$"):
        check_inputs(dict(settings, kernels="pallas"), five, Network("top_down"), images[:5])


def test_a_manifest_with_more_models_than_label_sets_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_inputs(tmp_path)
    settings = {**params.load("train", path=REPO / "params.yaml"), **TRAIN}
    labels = contract.read_labels()
    fewer = contract.LabelSets(labels.base, labels.offsets[:-1], labels.indices, labels.values)
    data = contract.read_dataset("cifar10", "x_train", "y_train", "x_test", "y_test")
    with pytest.raises(InputError, match=r"^data/labels/manifest.csv has model 5, data/labels/labels.npz label sets "
                                         r"of 5 models only: rerun dvc repro corrupt$"):
        train_all(LocalExecutor(settings), contract.read_manifest(), fewer, Network(), data["x_train"], data["y_train"],
                  (data["x_test"], data["y_test"]))


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
    data = contract.read_dataset("cifar10", "x_train", "y_train", "x_test", "y_test")
    with pytest.raises(TrainingError) as error:
        train_all(LocalExecutor(settings), contract.read_manifest(), contract.read_labels(), Network(), data["x_train"],
                  data["y_train"], (data["x_test"], data["y_test"]))
    assert str(error.value).startswith("cannot write data/models/pack_00000.npz: No space left on device (")
    assert "free space and rerun dvc repro train, finished packs are kept" in str(error.value)
    assert len(trained) <= 2  # of six packs


def test_stale_temporaries_are_swept(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    contract.MODELS_DIR.mkdir(parents=True)
    for name in (".pack_00001.npz.x1y2.tmp", "pack_00000.npz"):
        (contract.MODELS_DIR / name).write_bytes(b"old")
    sweep_temporaries()
    assert sorted(p.name for p in contract.MODELS_DIR.iterdir()) == ["pack_00000.npz"]


def test_a_damaged_pack_is_removed_and_its_models_trained_again(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    contract.MODELS_DIR.mkdir(parents=True)
    contract.pack_path(0).write_bytes(b"")
    assert reuse_finished(["k0"], np.arange(1)) == {}
    assert capsys.readouterr().out.startswith(f"note: {contract.pack_path(0)} cannot be reused (")
    assert contract.pack_files() == []
