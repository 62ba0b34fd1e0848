"""Stage `train` on a tiny synthetic set: every model written with its test accuracy per epoch, resume, a grown
study trains only its new models, retrain on changed params, NaN stop."""

import json
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from lesion import contract
from lesion.backend import cpu_name
from lesion.evaluation import PackEvaluator
from lesion.files import stale_temporaries
from lesion.model.networks import Network
from tests.conftest import run_module, stage_env, write_params
from tests.fixtures.tiny import CORRUPT, TRAIN, write_inputs

# The start line's network, backend, device and precision.
ON_CPU = f"tutorial_cnn on 32x32x3 images, 10 classes (122,570 parameters) on tensorflow, {cpu_name()}, float32"


def test_train_writes_every_model_and_curves(trained_study):
    project, result = trained_study
    assert f"6 models of {ON_CPU}: 0 already trained, 6 to train in 3 packs of 2" in result.stdout.splitlines()[0]
    ids = np.concatenate([np.load(p)["model_ids"] for p in contract.pack_files(project / contract.MODELS_DIR)])
    assert sorted(ids) == list(range(6))
    curve = pd.read_csv(project / "metrics/training/plots/metrics/clean/loss.tsv", sep="\t")
    assert list(curve.step) == [0, 1] and curve.loss.iloc[1] < curve.loss.iloc[0]
    run = json.loads((project / contract.TRAIN_RUN).read_text())
    assert run == {"backend": "tensorflow", "device": cpu_name(), "precision": "float32", "epochs": 2, "pack_size": 2,
                   "executor": "local", "network": Network().to_dict()}


def test_the_last_test_accuracy_is_what_the_evaluator_measures(trained_study):
    """History's third column after the last epoch: each model's accuracy on the whole test set, as the evaluate
    stage's forward pass computes it from the final weights."""
    project = trained_study[0]
    packs = [contract.read_pack(path) for path in contract.pack_files(project / contract.MODELS_DIR)]
    with np.load(project / contract.dataset_file("cifar10")) as data:
        x_test, y_test = data["x_test"], data["y_test"]
    for pack in packs:
        probs = PackEvaluator(Network.from_dict(pack.network), len(pack.model_ids)).predict(pack.weights, x_test)
        np.testing.assert_allclose(pack.history[:, -1, 2], (probs.argmax(-1) == y_test).mean(axis=1), atol=1e-6)
    curve = pd.read_csv(project / contract.CURVE_TABLES / "swap/test_accuracy.tsv", sep="\t")
    manifest = pd.read_csv(project / contract.MANIFEST)
    swap = [h for pack in packs for h, i in zip(pack.history, pack.model_ids) if manifest.kind[i] == "swap"]
    np.testing.assert_allclose(curve.test_accuracy, np.mean(swap, axis=0)[:, 2], rtol=1e-6)


def test_adding_trials_trains_only_the_new_models(trained):
    """corrupt.trials 2 -> 3: the six models keep their weights under their shifted ids, three are trained."""
    before = {str(key): weights for pack in map(contract.read_pack, contract.pack_files(trained / contract.MODELS_DIR))
              for key, weights in zip(pack.keys, pack.weights[0])}
    write_inputs(trained, dict(CORRUPT, trials=3))
    result = run_module(trained, "train", check=True)
    assert f"8 models of {ON_CPU}: 6 already trained, 2 to train in 1 packs of 2" in result.stdout
    packs = list(map(contract.read_pack, contract.pack_files(trained / contract.MODELS_DIR)))
    assert sorted(np.concatenate([pack.model_ids for pack in packs])) == list(range(8))
    manifest = pd.read_csv(trained / contract.MANIFEST)
    for pack in packs:
        for key, model_id, weights in zip(pack.keys, pack.model_ids, pack.weights[0]):
            if str(key) in before:
                np.testing.assert_array_equal(weights, before[str(key)])
            else:
                assert manifest.trial[model_id] == 2


def test_resume_trains_only_unfinished_and_damaged_packs(trained_study, trained):
    """The last pack missing (as if the run had been stopped while training it), pack 1 damaged: only those two
    are trained again, with a note for the damaged one, and every pack ends byte-identical."""
    reference = {path.name: path.read_bytes() for path in contract.pack_files(trained_study[0] / contract.MODELS_DIR)}
    (trained / contract.pack_path(2)).unlink()
    damaged = trained / contract.pack_path(1)
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one byte of the weights changed
    damaged.write_bytes(bytes(data))
    untouched = (trained / contract.pack_path(0)).stat().st_mtime_ns
    result = run_module(trained, "train", check=True)
    assert f"6 models of {ON_CPU}: 2 already trained, 4 to train in 2 packs of 2" in result.stdout
    assert f"note: {contract.pack_path(1)} cannot be reused (" in result.stdout
    assert {path.name: path.read_bytes() for path in contract.pack_files(trained / contract.MODELS_DIR)} == reference
    assert (trained / contract.pack_path(0)).stat().st_mtime_ns == untouched  # not trained again


@pytest.mark.slow
def test_changed_params_retrain_everything(trained):
    project = trained
    write_params(project, train=dict(TRAIN, epochs=1))
    assert ": 0 already trained, 6 to train" in run_module(project, "train", check=True).stdout


@pytest.mark.slow
def test_nan_loss_stops_with_pack_and_epoch(project):
    write_inputs(project)
    write_params(project, train=dict(TRAIN, learning_rate=1e12, epochs=3))
    result = run_module(project, "train")
    assert result.returncode == 1
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("error: loss became NaN or infinite in pack_00000 (models 0, 2) at epoch"), error


def interrupt_training(project, sig):
    """Start the train stage, send `sig` once the first pack is written; return how many packs existed then."""
    process = subprocess.Popen([sys.executable, "-m", "stages.train"], cwd=project, env=stage_env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (project / contract.pack_path(0)).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    written = len(contract.pack_files(project / contract.MODELS_DIR))
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=60)
    return written, process.returncode, stderr


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_an_interrupted_run_resumes_to_the_same_bytes(trained_study, tmp_path, sig):
    """Interrupted after its first pack, then rerun: finished packs are kept, and every pack ends byte-identical
    to the uninterrupted run's."""
    reference = {path.name: path.read_bytes() for path in contract.pack_files(trained_study[0] / contract.MODELS_DIR)}
    project = tmp_path / "study"
    project.mkdir()
    shutil.copy(trained_study[0] / "params.yaml", project / "params.yaml")
    shutil.copytree(trained_study[0] / "data/labels", project / "data/labels")
    shutil.copy(trained_study[0] / contract.dataset_file("cifar10"), project / contract.dataset_file("cifar10"))
    written, code, stderr = interrupt_training(project, sig)
    assert written < len(reference) and code != 0
    if sig == signal.SIGINT:
        assert stderr.strip().splitlines()[-1] == "error: interrupted: rerun the stage (dvc repro) to start it again"
    kept = {path.name: path.stat().st_mtime_ns for path in contract.pack_files(project / contract.MODELS_DIR)}
    assert kept  # the first pack survived the interruption
    result = run_module(project, "train", check=True)
    assert f": {2 * len(kept)} already trained" in result.stdout
    after = contract.pack_files(project / contract.MODELS_DIR)
    assert {path.name: path.read_bytes() for path in after} == reference
    assert all(path.stat().st_mtime_ns == kept[path.name] for path in after if path.name in kept)
    assert not stale_temporaries(project / contract.MODELS_DIR)


def test_without_evaluation_during_training_nothing_per_epoch_is_kept(trained):
    """train.eval_every 0: no test accuracy in the history or the curves, an empty per_class_epochs.csv, and the
    epochs stage says so. The weights are the default run's (evaluation never changes training)."""
    before = {int(i): w for pack in map(contract.read_pack, contract.pack_files(trained / contract.MODELS_DIR))
              for i, w in zip(pack.model_ids, pack.weights[-1])}
    write_params(trained, train=dict(TRAIN, eval_every=0))
    run_module(trained, "train", check=True)
    packs = list(map(contract.read_pack, contract.pack_files(trained / contract.MODELS_DIR)))
    for pack in packs:
        assert np.isnan(pack.history[:, :, 2]).all() and pack.evals.shape[1] == 0 and len(pack.eval_epochs) == 0
        for i, w in zip(pack.model_ids, pack.weights[-1]):
            np.testing.assert_array_equal(w, before[int(i)])
    assert not (trained / contract.CURVE_TABLES / "swap/test_accuracy.tsv").exists()
    assert (trained / contract.CURVE_TABLES / "swap/loss.tsv").exists()
    run_module(trained, "evaluate", check=True)
    assert (trained / contract.PER_CLASS_EPOCHS).read_text() == "model_id,epoch,class,loglik_bits,accuracy\n"
    result = run_module(trained, "epochs", check=True)
    assert "note: no epoch was evaluated during training (train.eval_every: 0)" in result.stdout
    assert len(pd.read_csv(trained / contract.EFFECTS_BY_EPOCH)) == 0


def test_a_schedule_that_starts_after_the_last_epoch_is_one_error(trained):
    write_params(trained, train=dict(TRAIN, schedule={"corrupt_from": 2, "corrupt_until": None}))
    result = run_module(trained, "train")
    assert result.returncode == 1 and result.stderr.strip().splitlines() == [
        "error: train.schedule.corrupt_from 2 is not an epoch of the 2 trained (they count from 0): lower it, or "
        "raise train.epochs"]
