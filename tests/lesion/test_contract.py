"""The data contract: readers and writers round-trip, a missing or malformed input names the stage that writes
it, and no other module spells an artifact's path."""

import ast

import numpy as np
import pandas as pd
import pytest

from lesion import contract
from lesion.errors import InputError
from tests.conftest import REPO
from tests.fixtures.study import make_manifest


@pytest.fixture
def inside(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_missing_input_names_the_stage_that_writes_it(inside):
    for path, stage in [(contract.DATASET, "download"), (contract.MANIFEST, "corrupt"),
                        (contract.PER_CLASS, "evaluate"), (contract.WELCH, "stats")]:
        with pytest.raises(InputError) as error:
            contract.require(path)
        assert str(error.value) == f"{path} is missing: run the earlier stages first (dvc repro {stage})"


def test_manifest_round_trip_keeps_empty_class_names(inside):
    manifest = make_manifest(trials=2, clean_trials=2, pairs=[("cat", "dog")])
    contract.write_labels(manifest, np.zeros((4, 3), np.uint8))
    read = contract.read_manifest()
    assert list(read.columns) == contract.MANIFEST_COLUMNS
    assert read.class_a.tolist() == ["", "", "cat", "cat"]  # not NaN: "" marks a clean model
    assert contract.read_labels().shape == (4, 3)
    manifest.drop(columns="seed").to_csv(contract.MANIFEST, index=False)
    with pytest.raises(InputError, match=r"data/labels/manifest.csv lacks columns \['seed'\]: rerun dvc repro "
                                         "corrupt"):
        contract.read_manifest()
    manifest.iloc[::-1].to_csv(contract.MANIFEST, index=False)
    with pytest.raises(InputError, match="model_id must be 0..n-1 in order"):
        contract.read_manifest()


def test_packs_round_trip_and_weights_come_in_the_asked_order(inside):
    for index, ids in enumerate([np.array([0, 2]), np.array([1, 3])]):
        weights = [np.stack([np.full((2, 3), m, np.float32) for m in ids]), ids.astype(np.float32)]
        contract.write_pack(contract.pack_path(index), contract.Pack(ids, f"print{index}", np.zeros((2, 1, 2)),
                                                                     weights))
    assert contract.pack_files() == [contract.pack_path(0), contract.pack_path(1)]
    pack = contract.read_pack(contract.pack_path(1), weights=False)
    assert pack.fingerprint == "print1" and pack.model_ids.tolist() == [1, 3] and pack.weights == []
    ids, weights = contract.read_weights([3, 0])
    assert ids.tolist() == [3, 0] and weights[1].tolist() == [3, 0] and weights[0][0, 1, 2] == 3
    ids, _ = contract.read_weights()
    assert ids.tolist() == [0, 1, 2, 3]
    with pytest.raises(InputError, match=r"models \[7\] are not in data/models: train them first"):
        contract.read_weights([0, 7])


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
    artifacts |= {"data/", "metrics/", "plots/"}
    for path in sorted((REPO / "lesion").rglob("*.py")) + sorted((REPO / "stages").glob("*.py")):
        if path.name == "contract.py":
            continue
        spelled = [text for text in string_constants(path) if any(text.startswith(a) for a in artifacts)]
        assert not spelled, f"{path.relative_to(REPO)} spells {spelled}"
