"""End to end: `dvc repro` in a fresh git + DVC repository, then what DVC reruns when params change."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from lesion.backend import cpu_name
from tests.browser import Browser
from tests.conftest import copy_repo, stage_env, write_params

SMALL = {"pairs": [["cat", "dog"], ["automobile", "truck"]], "trials": 2, "clean_trials": 2}
TINY_TRAIN = {"epochs": 2, "batch_size": 10, "pack_size": 4}
TINY_VISUALIZE = {"steps": 6, "restarts": 1, "channels": 2, "images": 2}
STAGES = {"download", "corrupt", "train", "evaluate", "stats", "epochs", "weights", "plots", "vis_models", "visualize",
          "report"}


def sh(project, *command):
    """Run a command in `project`; `dvc` is this interpreter's (python -m dvc), never another one on the PATH."""
    if command[0] == "dvc":
        command = (sys.executable, "-m", "dvc") + command[1:]
    result = subprocess.run(command, cwd=project, env=stage_env(), capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


@pytest.fixture
def dvc_project(tmp_path, served):
    server, _ = served
    copy_repo(tmp_path)
    write_params(tmp_path, data={"url": server.url("cifar-10-python.tar.gz"), "verify": False}, corrupt=SMALL,
                 train=TINY_TRAIN, visualize=TINY_VISUALIZE)
    sh(tmp_path, "git", "init", "-q")
    sh(tmp_path, "dvc", "init", "-q")
    sh(tmp_path, "dvc", "config", "core.analytics", "false")
    sh(tmp_path, "git", "add", "-A")
    sh(tmp_path, "git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    return tmp_path


def the_report_shows_the_evaluated_cells(project, tmp_path_factory):
    """The trained study's report in headless Chromium: a swapped pair's fullest cell lists the evaluate stage's
    most confident images of that cell, with their probabilities, and no JavaScript error occurs."""
    manifest = pd.read_csv(project / "data/labels/manifest.csv")
    model = int(manifest.model_id[(manifest.class_a == "automobile") & (manifest.trial == 0)].iloc[0])
    with np.load(project / "data/eval/cells.npz") as cells:
        count, index, prob = cells["count"][model], cells["top_index"][model], cells["top_prob"][model]
    t, p = np.unravel_index(count.argmax(), count.shape)
    with Browser(project / "plots/report.html", tmp_path_factory.mktemp("screenshots")) as browser:
        browser.choose("pair-select", "automobile/truck swapped")
        panel = browser.hover(f'#matrix td[data-t="{t}"][data-p="{p}"]')
        assert panel["indices"] == [i for i in index[t, p] if i >= 0] and len(panel["indices"]) == min(8, count[t, p])
        np.testing.assert_allclose(panel["probs"], prob[t, p, : len(panel["indices"])], atol=6e-4)
        assert browser.errors() == []


def ran(output):
    return {line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage")}


@pytest.mark.slow
def test_repro_then_nothing_then_only_corrupt_and_downstream(dvc_project, tmp_path_factory):
    first = sh(dvc_project, "dvc", "repro")
    assert ran(first) == STAGES
    for output in ["data/eval/per_class.csv", "metrics/summary.json", "metrics/welch.csv", "plots/report.html",
                   "metrics/training/plots/metrics/swap/accuracy.tsv"]:
        assert (dvc_project / output).stat().st_size > 0, output
    assert len(list((dvc_project / "plots/figures").glob("*.png"))) >= 5
    assert len(list((dvc_project / "plots/vis").rglob("*.png"))) == 9  # 3 models: one confusion grid each
    assert (dvc_project / "plots/vis/index.html").exists()
    assert "/vis" in (dvc_project / "plots/.gitignore").read_text()  # the images live in DVC's cache, not git
    report = (dvc_project / "plots/report.html").read_text()
    assert '<figure id="figure-t_heatmap.png"><img src="data:image/png;base64,' in report  # embedded
    assert 'id="explorer-data"' in report and '"count":' in report
    the_report_shows_the_evaluated_cells(dvc_project, tmp_path_factory)
    assert (dvc_project / "metrics/provenance.json").stat().st_size > 0
    manifest = pd.read_csv(dvc_project / "data/labels/manifest.csv", keep_default_na=False)
    assert len(manifest) == 2 + 2 * 2
    with np.load(dvc_project / "data/labels/labels.npz") as labels:
        assert labels["base"].shape == (100,) and labels["offsets"].tolist() == [0, 0, 0, 10, 20, 30, 40]

    assert ran(sh(dvc_project, "dvc", "repro")) == set()

    write_params(dvc_project, corrupt=dict(SMALL, trials=3))
    third = sh(dvc_project, "dvc", "repro")
    # New trials shift model ids but leave the shown models' weights, so data/vis/models.npz keeps its hash and
    # DVC skips visualize.
    assert ran(third) == STAGES - {"download", "visualize"}
    # Only the new trial is trained, on the backend train.backend: auto picks on a CPU.
    assert f"parameters) on tensorflow, {cpu_name()}, float32: 6 already trained, 2 to train" in third
    assert len(pd.read_csv(dvc_project / "data/labels/manifest.csv")) == 2 + 2 * 3
