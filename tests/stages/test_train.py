"""Stage `train` on a tiny synthetic set: every model written, resume, retrain on changed params, NaN stop."""

import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from lesion import contract
from lesion.files import stale_temporaries
from tests.conftest import run_module, stage_env, write_params
from tests.fixtures.tiny import TRAIN, write_inputs


def test_train_writes_every_model_and_curves(trained_study):
    project, result = trained_study
    assert "6 models in 3 packs of 2" in result.stdout
    ids = np.concatenate([np.load(p)["model_ids"] for p in contract.pack_files(project / contract.MODELS_DIR)])
    assert sorted(ids) == list(range(6))
    curve = pd.read_csv(project / "metrics/training/plots/metrics/clean/loss.tsv", sep="\t")
    assert list(curve.step) == [0, 1] and curve.loss.iloc[1] < curve.loss.iloc[0]


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
    assert "1 packs already trained" in result.stdout
    assert f"note: {contract.pack_path(1)} is damaged (" in result.stdout
    assert {path.name: path.read_bytes() for path in contract.pack_files(trained / contract.MODELS_DIR)} == reference
    assert (trained / contract.pack_path(0)).stat().st_mtime_ns == untouched  # not trained again


@pytest.mark.slow
def test_changed_params_retrain_everything(trained):
    project = trained
    write_params(project, train=dict(TRAIN, epochs=1))
    assert "0 packs already trained" in run_module(project, "train", check=True).stdout


@pytest.mark.slow
def test_nan_loss_stops_with_pack_and_epoch(project):
    write_inputs(project)
    write_params(project, train=dict(TRAIN, learning_rate=1e12, epochs=3))
    result = run_module(project, "train")
    assert result.returncode == 1
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("error: loss became NaN or infinite in pack 0 (models 0, 2) at epoch"), error


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
    shutil.copy(trained_study[0] / contract.DATASET, project / contract.DATASET)
    written, code, stderr = interrupt_training(project, sig)
    assert written < len(reference) and code != 0
    if sig == signal.SIGINT:
        assert stderr.strip().splitlines()[-1] == "error: interrupted: rerun the stage (dvc repro) to start it again"
    kept = {path.name: path.stat().st_mtime_ns for path in contract.pack_files(project / contract.MODELS_DIR)}
    assert kept  # the first pack survived the interruption
    result = run_module(project, "train", check=True)
    assert f"{len(kept)} packs already trained" in result.stdout
    after = contract.pack_files(project / contract.MODELS_DIR)
    assert {path.name: path.read_bytes() for path in after} == reference
    assert all(path.stat().st_mtime_ns == kept[path.name] for path in after if path.name in kept)
    assert not stale_temporaries(project / contract.MODELS_DIR)
