"""The data contract: readers and writers round-trip, a missing or malformed input names the stage that writes
it, and no other module spells an artifact's path."""

import ast

import numpy as np
import pandas as pd
import pytest

from lesion import contract
from lesion.errors import DamagedPackError, InputError
from lesion.files import save_npz
from tests.conftest import REPO
from tests.fixtures.study import make_manifest


@pytest.fixture
def inside(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_missing_input_names_the_stage_that_writes_it(inside):
    for path, stage in [(contract.dataset_file("cifar100"), "download"), (contract.MANIFEST, "corrupt"),
                        (contract.PER_CLASS, "evaluate"), (contract.WELCH, "stats")]:
        with pytest.raises(InputError) as error:
            contract.require(path)
        assert str(error.value) == f"{path} is missing: run the earlier stages first (dvc repro {stage})"


def test_manifest_round_trip_keeps_empty_class_names(inside):
    manifest = make_manifest(trials=2, clean_trials=2, pairs=[("cat", "dog")])
    contract.write_labels(manifest, contract.LabelSets.from_rows(np.zeros((4, 3), np.uint8), np.zeros(3, np.uint8)))
    read = contract.read_manifest()
    assert list(read.columns) == contract.MANIFEST_COLUMNS
    assert read.class_a.tolist() == ["", "", "cat", "cat"]  # not NaN: "" marks a clean model
    assert contract.read_labels().rows().shape == (4, 3)
    manifest.drop(columns="seed").to_csv(contract.MANIFEST, index=False)
    with pytest.raises(InputError, match=r"data/labels/manifest.csv lacks columns \['seed'\]: rerun dvc repro "
                                         "corrupt"):
        contract.read_manifest()
    manifest.iloc[::-1].to_csv(contract.MANIFEST, index=False)
    with pytest.raises(InputError, match="model_id must be 0..n-1 in order"):
        contract.read_manifest()


def test_digit_class_names_read_as_the_same_text_in_every_table(inside):
    """MNIST's classes are "0".."9": pandas alone reads them as numbers in per_class.csv and the stats tables but as
    text in the manifest (whose clean rows are empty), and no lesion would match its class."""
    digits = [str(d) for d in range(10)]
    manifest = make_manifest(trials=1, clean_trials=1, pairs=[("0", "1")], classes=digits)
    contract.write_labels(manifest, contract.LabelSets.from_rows(np.zeros((2, 3), np.uint8), np.zeros(3, np.uint8)))
    per_class = pd.DataFrame({"model_id": np.repeat([0, 1], 10), "class": digits * 2, "loglik_bits": -0.5,
                              "accuracy": 0.5})
    contract.write_evaluation(per_class, np.zeros((2, 10, 10), np.float32),
                              {name: np.zeros((2, 10, 10, 1)) for name in contract.CELL_ARRAYS},
                              per_class.assign(epoch=1))
    contract.WELCH.parent.mkdir()
    pd.DataFrame({"target": ["0", "1"], "confused": ["1", "0"], "t": [1.0, 2.0]}).to_csv(contract.WELCH, index=False)
    manifest_read, per_class_read = contract.read_manifest(), contract.read_per_class()
    assert manifest_read.class_a.tolist() == ["", "0"] and per_class_read["class"].tolist()[:3] == ["0", "1", "2"]
    assert contract.read_per_class_epochs()["class"].tolist()[:2] == ["0", "1"]
    welch = contract.read_effect_table(contract.WELCH)
    assert welch.target.tolist() == ["0", "1"] and welch.confused.tolist() == ["1", "0"]
    assert contract.class_order(per_class_read) == digits


def write_two_packs():
    for index, ids in enumerate([np.array([0, 2]), np.array([1, 3])]):
        weights = [np.stack([np.full((2, 3), m, np.float32) for m in ids]), ids.astype(np.float32)]
        contract.write_pack(contract.pack_path(index), contract.Pack(ids, np.array([f"key{m}" for m in ids]), np.zeros((2, 1, 3)),
                                                                     weights))


def test_packs_round_trip_and_weights_come_in_the_asked_order(inside):
    write_two_packs()
    assert contract.pack_files() == [contract.pack_path(0), contract.pack_path(1)]
    pack = contract.read_pack(contract.pack_path(1))
    assert pack.keys.tolist() == ["key1", "key3"] and pack.model_ids.tolist() == [1, 3] and pack.weights[1].tolist() == [1, 3]
    ids, weights, _ = contract.read_weights([3, 0])
    assert ids.tolist() == [3, 0] and weights[1].tolist() == [3, 0] and weights[0][0, 1, 2] == 3
    with pytest.raises(InputError, match=r"models \[7\] are not in data/models: train them first"):
        contract.read_weights([0, 7])


def flip_byte(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["truncated", "emptied", "flipped in the weights", "checksum"])
def test_a_damaged_pack_is_named_not_read(inside, damage):
    write_two_packs()
    path = contract.pack_path(1)
    size = path.stat().st_size
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[: size // 2])
    elif damage == "emptied":
        path.write_bytes(b"")
    elif damage == "flipped in the weights":
        flip_byte(path, path.read_bytes().index(np.float32(3).tobytes()))  # same size, one weight changed
    else:  # a pack whose arrays read fine but are not the ones it was written with
        pack = contract.read_pack(path)
        contract.save_npz(path, model_ids=pack.model_ids, keys=pack.keys, history=pack.history + 1,
                          checksum=contract.pack_checksum(pack), w0=pack.weights[0], w1=pack.weights[1])
    with pytest.raises(DamagedPackError) as error:
        contract.read_pack(path)
    assert str(error.value).startswith(f"{path} is damaged (") and str(error.value).endswith(
        "rerun dvc repro train, which trains it again")


def test_every_manifest_model_must_be_in_exactly_one_pack(inside):
    write_two_packs()
    manifest = make_manifest(trials=0, clean_trials=4)  # models 0..3
    contract.check_packs(manifest)  # each once
    contract.pack_path(1).unlink()
    with pytest.raises(InputError) as error:
        contract.check_packs(manifest)
    assert str(error.value) == ("2 models of data/labels/manifest.csv are in no pack of data/models (models 1, 3): "
                                "train them first (dvc repro train)")
    write_two_packs()
    contract.write_pack(contract.pack_path(2), contract.read_pack(contract.pack_path(0)))
    with pytest.raises(InputError, match="holds models twice"):
        contract.check_packs(manifest)


def test_per_class_values_must_be_finite_numbers(inside):
    contract.PER_CLASS.parent.mkdir(parents=True)
    contract.PER_CLASS.write_text("model_id,class,loglik_bits,accuracy\n0,cat,-0.3,0.5\n0,dog,,0.4\n")
    with pytest.raises(InputError, match=r"per_class.csv has loglik_bits an empty cell on line 3, not a finite number"):
        contract.read_per_class()
    contract.PER_CLASS.write_text("model_id,class,loglik_bits,accuracy\n0,cat,-0.3,high\n")
    with pytest.raises(InputError, match=r"accuracy 'high' on line 2"):
        contract.read_per_class()


def test_class_order_is_the_per_class_order():
    per_class = pd.DataFrame({"model_id": [0, 0, 0, 1, 1, 1], "class": ["b", "c", "a"] * 2})
    assert contract.class_order(per_class) == ["b", "c", "a"]


def string_constants(path):
    """The string literals of a module's code, docstrings and other bare string statements aside."""
    tree = ast.parse(path.read_text())
    prose = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    return [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in prose]


def test_no_other_module_spells_an_artifact_path():
    artifacts = {str(path) for name, path in vars(contract).items() if name.isupper() and hasattr(path, "parts")}
    artifacts = (artifacts - {str(contract.DATA_DIR)}) | {"data/", "metrics/", "plots/"}  # "data": also a section
    for path in sorted((REPO / "lesion").rglob("*.py")) + sorted((REPO / "stages").glob("*.py")):
        if path.name == "contract.py":
            continue
        spelled = [text for text in string_constants(path) if any(text.startswith(a) for a in artifacts)]
        assert not spelled, f"{path.relative_to(REPO)} spells {spelled}"


def test_label_sets_round_trip_their_rows_and_refuse_a_damaged_file(inside):
    base = np.array([0, 1, 2, 3, 4], np.uint8)
    rows = np.array([[0, 1, 2, 3, 4], [1, 1, 2, 3, 0], [0, 2, 1, 3, 4]], np.uint8)
    labels = contract.LabelSets.from_rows(rows, base)
    assert labels.offsets.tolist() == [0, 0, 2, 4] and labels.indices.tolist() == [0, 4, 1, 2]
    contract.write_labels(make_manifest(trials=1, clean_trials=1, pairs=[("cat", "dog"), ("cat", "bird")]), labels)
    np.testing.assert_array_equal(contract.read_labels().rows(), rows)
    np.testing.assert_array_equal(contract.read_labels().rows([2, 0]), rows[[2, 0]])
    save_npz(contract.LABELS, labels=rows)  # the full label rows of an earlier version
    with pytest.raises(InputError, match=r"holds \['labels'\], not the label sets' \['base', 'offsets', 'indices', "
                                         r"'values'\]: rerun dvc repro corrupt"):
        contract.read_labels()
    save_npz(contract.LABELS, **dict(labels.arrays(), base=base.astype(np.int64)))  # would change every model's key
    with pytest.raises(InputError, match=r"holds arrays of other shapes or types than the label sets' \(1-D base "
                                         r"uint8, .*: rerun dvc repro corrupt"):
        contract.read_labels()
    save_npz(contract.LABELS, **dict(labels.arrays(), indices=np.array([0, 4, 1, 9], np.int32)))
    with pytest.raises(InputError, match=r"is inconsistent .*: rerun dvc repro corrupt"):
        contract.read_labels()
