"""Stage `train` on a tiny synthetic set: every model written, resume, retrain on changed params, NaN stop."""

import numpy as np
import pandas as pd
import pytest

from lesion import contract
from tests.conftest import run_module, write_params
from tests.fixtures.tiny import TRAIN, write_inputs


def pack_state(project):
    return {path: (np.load(path)["w0"].copy(), (project / path).stat().st_mtime_ns)
            for path in contract.pack_files(project / contract.MODELS_DIR)}


def test_train_writes_every_model_and_curves(trained_study):
    project, result = trained_study
    assert "6 models in 3 packs of 2" in result.stdout
    ids = np.concatenate([np.load(p)["model_ids"] for p in contract.pack_files(project / contract.MODELS_DIR)])
    assert sorted(ids) == list(range(6))
    curve = pd.read_csv(project / "metrics/training/plots/metrics/clean/loss.tsv", sep="\t")
    assert list(curve.step) == [0, 1] and curve.loss.iloc[1] < curve.loss.iloc[0]


def test_resume_trains_only_unfinished_packs(trained):
    project = trained
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
