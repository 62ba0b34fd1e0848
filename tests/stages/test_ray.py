"""train.executor: ray on a local Ray (the stage starts one: RAY_ADDRESS is unset): the packs and the evaluation
equal the local executor's byte for byte, a pack whose worker is killed mid-way is run again by Ray, and a killed
driver resumes from the packs it wrote."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from lesion import contract
from tests.conftest import run_module, stage_env, write_params
from tests.fixtures.tiny import TRAIN

pytestmark = pytest.mark.slow
EVALUATED = [contract.PER_CLASS, contract.EVAL_DIR / "confusion.npz", contract.EVAL_METRICS]


def pack_files(project):
    return contract.pack_files(project / contract.MODELS_DIR)


def pack_bytes(project):
    return {path.name: path.read_bytes() for path in pack_files(project)}


@pytest.fixture
def ray_study(trained_study, tmp_path):
    """The trained study's inputs without its models, set to train through Ray."""
    project = tmp_path / "study"
    project.mkdir()
    shutil.copy(trained_study[0] / "params.yaml", project / "params.yaml")
    shutil.copytree(trained_study[0] / "data/labels", project / "data/labels")
    shutil.copy(trained_study[0] / contract.dataset_file("cifar10"), project / contract.dataset_file("cifar10"))
    write_params(project, train=dict(TRAIN, executor="ray"))
    return project


def test_ray_trains_the_same_packs_as_the_local_executor(trained_study, ray_study):
    result = run_module(ray_study, "train", check=True)
    assert "6 models of tutorial_cnn on 32x32x3 images, 10 classes (122,570 parameters) on tensorflow, a Ray cluster, " \
        in result.stdout
    assert ": 0 already trained, 6 to train in 3 packs of 2" in result.stdout
    assert pack_bytes(ray_study) == pack_bytes(trained_study[0])
    assert json.loads((ray_study / contract.TRAIN_RUN).read_text())["executor"] == "ray"


def ray_task_pids():
    """Processes of Ray workers running a task (Ray titles them ray::<function>)."""
    found = subprocess.run(["pgrep", "-f", "ray::run_on_worker"], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in found]


def test_a_killed_worker_is_retried_and_the_packs_are_the_same(trained_study, ray_study):
    process = subprocess.Popen([sys.executable, "-m", "stages.train"], cwd=ray_study, env=stage_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed, deadline = [], time.monotonic() + 180
    while not killed and process.poll() is None and time.monotonic() < deadline:
        for pid in ray_task_pids():
            os.kill(pid, signal.SIGKILL)  # a worker dies in the middle of its pack
            killed.append(pid)
            break
        time.sleep(0.05)
    stdout, stderr = process.communicate(timeout=600)
    assert killed, "no Ray worker was seen running a pack"
    assert process.returncode == 0, stderr[-3000:]
    assert pack_bytes(ray_study) == pack_bytes(trained_study[0])


def test_a_killed_driver_resumes_from_the_packs_it_wrote(trained_study, ray_study, tmp_path):
    """SIGKILL once a first pack is written, whichever it is: Ray returns packs in any order, so pack 0 may well
    be the last (stderr to a file: Ray's helpers may outlive the driver a while)."""
    with open(tmp_path / "stderr", "w") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "stages.train"], cwd=ray_study, env=stage_env(),
                                   stdout=subprocess.DEVNULL, stderr=stderr)
        deadline = time.monotonic() + 180
        while not pack_files(ray_study) and time.monotonic() < deadline:
            time.sleep(0.02)
        process.kill()
        process.wait(timeout=60)
    kept = pack_bytes(ray_study)
    assert 0 < len(kept) < 3
    result = run_module(ray_study, "train", check=True)
    assert f": {2 * len(kept)} already trained, {6 - 2 * len(kept)} to train" in result.stdout
    assert pack_bytes(ray_study) == pack_bytes(trained_study[0])


def test_ray_evaluates_as_the_local_executor_does(trained):
    run_module(trained, "evaluate", check=True)
    local = {path: (trained / path).read_bytes() for path in EVALUATED}
    write_params(trained, train=dict(TRAIN, executor="ray"))
    result = run_module(trained, "evaluate", check=True)
    assert "evaluating 6 models on tensorflow, a Ray cluster, " in result.stdout
    assert {path: (trained / path).read_bytes() for path in EVALUATED} == local
