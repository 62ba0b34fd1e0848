"""Stage `evaluate`: the per_class, confusion and cells contracts and eval.json; the three backends agree."""

import json

import numpy as np
import pandas as pd
import pytest

from lesion import contract
from lesion.evaluation import PackEvaluator
from lesion.model.networks import Network
from tests.conftest import run_module, write_params
from tests.fixtures.cifar import CLASS_NAMES
from tests.fixtures.tiny import TRAIN, write_inputs


def test_evaluate_writes_contracts(trained):
    project = trained
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


def test_cells_hold_each_models_predictions(trained):
    """cells.npz against the models' own probabilities: counts, the top images of every cell, their probabilities."""
    write_params(trained, evaluate={"top_images": 3})
    run_module(trained, "evaluate", check=True)
    cells = np.load(trained / "data/eval/cells.npz")
    assert sorted(cells.files) == ["count", "top_index", "top_prob"]
    assert cells["count"].shape == (6, 10, 10) and cells["top_index"].shape == (6, 10, 10, 3)
    data = np.load(trained / "data/cifar10.npz")
    x_test, y_test = data["x_test"], data["y_test"]
    per_class = pd.read_csv(trained / "data/eval/per_class.csv")
    accuracy = per_class.accuracy.to_numpy().reshape(6, 10)
    np.testing.assert_allclose(np.diagonal(cells["count"], axis1=1, axis2=2) / np.bincount(y_test), accuracy)
    for path in sorted((trained / "data/models").glob("*.npz")):
        pack = contract.read_pack(path)
        probs = PackEvaluator(Network.from_dict(pack.network), len(pack.model_ids)).predict(pack.weights, x_test)
        for model, p in zip(pack.model_ids, probs):
            predicted = p.argmax(-1)
            for t in range(10):
                for q in range(10):
                    members = np.flatnonzero((y_test == t) & (predicted == q))
                    assert cells["count"][model, t, q] == len(members)
                    top = cells["top_index"][model, t, q]
                    shown = top[top >= 0]
                    assert len(shown) == min(3, len(members)) and set(shown) <= set(members)
                    np.testing.assert_allclose(cells["top_prob"][model, t, q, : len(shown)], p[shown, q], rtol=1e-5)
                    assert (np.sort(p[members, q])[::-1][: len(shown)] == pytest.approx(p[shown, q], rel=1e-5))


@pytest.mark.slow
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


def test_a_missing_pack_is_an_error_not_a_perfect_score(trained):
    (trained / "data/models/pack_00001.npz").unlink()
    result = run_module(trained, "evaluate")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "error: 2 models of data/labels/manifest.csv are in no pack of data/models (models 1, 4): train them first "
        "(dvc repro train)")
    assert not (trained / "data/eval").exists() and not (trained / "metrics/eval.json").exists()


def test_the_last_epoch_evaluated_in_training_is_the_evaluate_stage_exactly(trained):
    """train.eval_every 1 (the default): per_class_epochs.csv holds both epochs of every model and class, and its
    last epoch's rows are per_class.csv's, character for character."""
    run_module(trained, "evaluate", check=True)
    epochs = pd.read_csv(trained / "data/eval/per_class_epochs.csv", dtype=str)
    assert list(epochs.columns) == ["model_id", "epoch", "class", "loglik_bits", "accuracy"]
    assert len(epochs) == 6 * 2 * 10 and sorted(set(epochs.epoch)) == ["1", "2"]
    assert epochs.model_id.tolist() == [str(m) for m in np.repeat(np.arange(6), 20)]
    last = epochs[epochs.epoch == "2"].drop(columns="epoch").reset_index(drop=True)
    pd.testing.assert_frame_equal(last, pd.read_csv(trained / "data/eval/per_class.csv", dtype=str))
    first = epochs[epochs.epoch == "1"].reset_index(drop=True)
    assert (first.loglik_bits != last.loglik_bits).any()  # a different model: the first epoch's numbers differ
