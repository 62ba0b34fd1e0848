"""A model's key covers every file of the model folder, the train params, the network, the training images, its
seed and its labels, and nothing dvc.yaml's train stage leaves out."""

import shutil

import numpy as np
import pytest
import yaml

import lesion.model
from lesion.model import model_keys, source_files
from lesion.model.networks import Network
from tests.conftest import REPO

PARAMS = {"model": "tutorial_cnn", "width": 2, "backend": "tensorflow", "device": "auto", "executor": "local",
          "epochs": 1, "batch_size": 8, "learning_rate": 1e-3, "pack_size": 2, "precision": "float32", "kernels": "xla",
          "seed": 0}
SEEDS, LABELS = np.array([1, 2]), np.zeros((2, 5), np.uint8)
IMAGES = np.zeros((5, 32, 32, 3), np.uint8)


def fingerprint(train_params, seeds, labels, network=Network(), images=IMAGES):
    """Both models' keys, as one comparable tuple."""
    return tuple(model_keys(train_params, network, images, seeds, labels))


@pytest.fixture
def model_copy(tmp_path, monkeypatch):
    """A copy of the model folder that the fingerprint reads instead of the real one."""
    folder = tmp_path / "model"
    shutil.copytree(lesion.model.FOLDER, folder, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(lesion.model, "FOLDER", folder)
    return folder


def test_editing_any_file_of_the_model_folder_changes_the_fingerprint(model_copy):
    before = fingerprint(PARAMS, SEEDS, LABELS)
    files = source_files()
    assert {path.name for path in files} >= {"__init__.py", "cnn.py", "networks.py", "packed.py", "adam.py",
                                             "trainer.py", "autodiff.py"}
    for path in files:
        original = path.read_bytes()
        path.write_bytes(original + b"\n# edited\n")
        assert fingerprint(PARAMS, SEEDS, LABELS) != before, path.name
        path.write_bytes(original)
    assert fingerprint(PARAMS, SEEDS, LABELS) == before
    (model_copy / "new_layer.py").write_text("")
    assert fingerprint(PARAMS, SEEDS, LABELS) != before  # a new file counts too


def test_params_seeds_and_labels_count_but_not_where_or_how_many_train_together():
    before = fingerprint(PARAMS, SEEDS, LABELS)
    assert fingerprint(dict(PARAMS, pack_size=7), SEEDS, LABELS) == before
    assert fingerprint(dict(PARAMS, device="cpu", executor="ray"), SEEDS, LABELS) == before
    assert fingerprint(dict(PARAMS, backend="jax"), SEEDS, LABELS) != before
    assert fingerprint(dict(PARAMS, kernels="pallas"), SEEDS, LABELS) != before  # not run on a GPU yet: kept apart
    assert fingerprint(dict(PARAMS, epochs=2), SEEDS, LABELS) != before
    assert fingerprint(PARAMS, SEEDS + 1, LABELS) != before
    assert fingerprint(PARAMS, SEEDS, LABELS + 1) != before


def test_the_network_and_the_images_count_and_width_only_for_wide_cnn():
    before = fingerprint(PARAMS, SEEDS, LABELS)
    assert fingerprint(dict(PARAMS, width=3), SEEDS, LABELS) == before  # tutorial_cnn has no width
    assert fingerprint(PARAMS, SEEDS, LABELS, Network("top_down")) != before
    assert fingerprint(PARAMS, SEEDS, LABELS, Network(n_classes=20)) != before
    wide = fingerprint(PARAMS, SEEDS, LABELS, Network("wide_cnn", width=2))
    assert wide != before and fingerprint(PARAMS, SEEDS, LABELS, Network("wide_cnn", width=3)) != wide
    assert fingerprint(PARAMS, SEEDS, LABELS, images=IMAGES + 1) != before  # the same labels of another dataset


def test_a_key_is_the_models_own_whatever_else_is_packed_with_it():
    keys = np.array(fingerprint(PARAMS, SEEDS, LABELS))
    assert keys[0] != keys[1]  # different seeds
    assert list(fingerprint(PARAMS, SEEDS[::-1], LABELS[::-1])) == keys[::-1].tolist()
    assert list(fingerprint(PARAMS, SEEDS[1:], LABELS[1:])) == keys[1:].tolist()


def test_the_train_stage_depends_on_the_whole_model_folder():
    deps = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]["train"]["deps"]
    assert "lesion/model" in deps
    assert lesion.model.FOLDER == REPO / "lesion/model"


def test_an_unresolved_backend_is_never_hashed():
    """auto means tensorflow on one machine and jax on another: the key holds the backend that trained."""
    with pytest.raises(ValueError, match="resolve train.backend"):
        fingerprint(dict(PARAMS, backend="auto"), SEEDS, LABELS)
