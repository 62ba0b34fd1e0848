"""Stages `train` and `evaluate` on a tiny synthetic set: resume, NaN stop, statistics, backends."""

import json

import numpy as np
import pandas as pd
import pytest

from stages.cnn import pack_files
from stages.common import save_npz
from stages.corrupt import build, validate
from stages.evaluator import EPSILON, PackEvaluator
from tests.cifar_fixture import CLASS_NAMES, make_batches
from tests.conftest import run_module, write_params

CORRUPT = {"pairs": [["cat", "dog"], ["automobile", "truck"]], "trials": 2, "clean_trials": 2, "fraction": 0.5,
           "seed": 0}
TRAIN = {"epochs": 2, "batch_size": 10, "pack_size": 2, "backend": "tensorflow"}


def write_inputs(project):
    """data/cifar10.npz (60 train and 40 test images of learnable synthetic classes) and the label sets."""
    _, arrays = make_batches(per_class_train=6, per_class_test=4)
    train = [arrays[f"data_batch_{i}"] for i in range(1, 6)]
    x_train, y_train = np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train])
    save_npz(project / "data/cifar10.npz", x_train=x_train, y_train=y_train, x_test=arrays["test_batch"][0],
             y_test=arrays["test_batch"][1], class_names=np.array(CLASS_NAMES))
    manifest, labels = build(y_train, CLASS_NAMES, CORRUPT, validate(CORRUPT, CLASS_NAMES))
    (project / "data/labels").mkdir(parents=True)
    manifest.to_csv(project / "data/labels/manifest.csv", index=False)
    save_npz(project / "data/labels/labels.npz", labels=labels)


@pytest.fixture
def trained(project):
    write_inputs(project)
    write_params(project, train=TRAIN)
    result = run_module(project, "train", check=True)
    return project, result


def pack_state(project):
    return {path: (np.load(path)["w0"].copy(), (project / path).stat().st_mtime_ns)
            for path in pack_files(project / "data/models")}


def test_train_writes_every_model_and_curves(trained):
    project, result = trained
    assert "6 models in 3 packs of 2" in result.stdout
    ids = np.concatenate([np.load(p)["model_ids"] for p in pack_files(project / "data/models")])
    assert sorted(ids) == list(range(6))
    curve = pd.read_csv(project / "metrics/training/plots/metrics/clean/loss.tsv", sep="\t")
    assert list(curve.step) == [0, 1] and curve.loss.iloc[1] < curve.loss.iloc[0]


def test_resume_trains_only_unfinished_packs(trained):
    project, _ = trained
    before = pack_state(project)
    interrupted = sorted(before)[-1]
    (project / interrupted).unlink()  # as if the run had been stopped while training the last pack
    result = run_module(project, "train", check=True)
    assert "2 packs already trained" in result.stdout
    after = pack_state(project)
    for path, (weights, mtime) in before.items():
        np.testing.assert_allclose(after[path][0], weights, rtol=1e-5, atol=1e-6)  # same results
        if path != interrupted:
            assert after[path][1] == mtime  # finished packs were not trained again


def test_changed_params_retrain_everything(trained):
    project, _ = trained
    write_params(project, train=dict(TRAIN, epochs=1))
    assert "0 packs already trained" in run_module(project, "train", check=True).stdout


def test_nan_loss_stops_with_pack_and_epoch(project):
    write_inputs(project)
    write_params(project, train=dict(TRAIN, learning_rate=1e12, epochs=3))
    result = run_module(project, "train")
    assert result.returncode == 1
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("error: loss became NaN or infinite in pack 0 (models 0, 2) at epoch"), error


def test_evaluate_writes_contracts(trained):
    project, _ = trained
    run_module(project, "evaluate", check=True)
    per_class = pd.read_csv(project / "data/eval/per_class.csv")
    assert list(per_class.columns) == ["model_id", "class", "loglik_bits", "accuracy"]
    assert len(per_class) == 60 and per_class["class"].iloc[:10].tolist() == CLASS_NAMES
    assert (per_class.loglik_bits < 0).all() and per_class.accuracy.between(0, 1).all()
    mean_prob = np.load(project / "data/eval/confusion.npz")["mean_prob"]
    assert mean_prob.shape == (6, 10, 10)
    np.testing.assert_allclose(mean_prob.sum(axis=1), 1, atol=1e-4)  # each true class's probabilities sum to 1
    metrics = json.loads((project / "metrics/eval.json").read_text())
    assert set(metrics) == {"clean_accuracy", "swap_pair_accuracy", "swap_other_accuracy", "n_models"}
    assert metrics["clean_accuracy"] > 0.2  # chance is 0.1: the synthetic classes are learnable


def test_loglik_bits_matches_hand_computation():
    """Zero weights but the logits bias make every prediction the same known distribution."""
    probs = np.array([0.7, 0.2, 0.1] + [1e-9] * 7)
    weights = [np.zeros((1,) + s, np.float32) for s in
               [(3, 3, 3, 32), (32,), (3, 3, 32, 64), (64,), (3, 3, 64, 64), (64,), (1024, 64), (64,), (64, 10), (10,)]]
    weights[9][0] = np.log(probs / probs.sum())
    y_test = np.array([0, 0, 1, 2])
    x_test = np.zeros((4, 32, 32, 3), np.uint8)
    loglik, accuracy, mean_prob = PackEvaluator(1).evaluate(weights, x_test, y_test, 10)
    p = np.clip(probs / probs.sum(), EPSILON, 1 - EPSILON)
    expected_0 = (2 * np.log2(p[0]) + 2 * np.log2(1 - p[0])) / 4  # two images of class 0, two others
    expected_1 = (np.log2(p[1]) + 3 * np.log2(1 - p[1])) / 4
    expected_5 = 4 * np.log2(1 - p[5]) / 4  # no image of class 5
    np.testing.assert_allclose(loglik[0, [0, 1, 5]], [expected_0, expected_1, expected_5], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(accuracy[0, :3], [1, 0, 0])  # everything is predicted as class 0
    np.testing.assert_allclose(mean_prob[0, :3, 0], p[:3], rtol=1e-4)


def test_backends_agree(project):
    """TensorFlow, JAX and torch give the same shapes and sane, nearly equal values from the same seeds."""
    write_inputs(project)
    results = {}
    for backend in ("tensorflow", "jax", "torch"):
        write_params(project, train=dict(TRAIN, backend=backend))
        run_module(project, "train", check=True)
        run_module(project, "evaluate", check=True)
        results[backend] = pd.read_csv(project / "data/eval/per_class.csv")
    reference = results.pop("tensorflow")
    assert reference.shape == (60, 4)
    for backend, result in results.items():
        assert result.shape == reference.shape, backend
        assert np.isfinite(result.loglik_bits).all() and (result.loglik_bits < 0).all(), backend
        np.testing.assert_allclose(result.loglik_bits, reference.loglik_bits, atol=0.02, err_msg=backend)
