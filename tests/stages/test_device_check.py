"""No silent CPU fallback: on a machine with an NVIDIA driver whose backend sees no GPU (a CPU-only install), the
stages that compute stop with one error line naming the install command, unless train.device is cpu.

The driver is simulated: the stage runs in a process whose lesion.backend.has_nvidia_driver says True.
"""

import json
import subprocess
import sys

import pytest

from lesion import contract
from lesion.backend import cpu_name
from tests.conftest import stage_env, write_params
from tests.fixtures.tiny import TRAIN, write_inputs

WITH_DRIVER = """
import runpy, sys
import lesion.backend
lesion.backend.has_nvidia_driver = lambda: True
sys.argv = ["{stage}"]
runpy.run_module("stages.{stage}", run_name="__main__", alter_sys=True)
"""


def run_with_driver(project, stage):
    return subprocess.run([sys.executable, "-c", WITH_DRIVER.format(stage=stage)], cwd=project, env=stage_env(),
                          capture_output=True, text=True)


@pytest.mark.parametrize("stage", ["train", "evaluate", "visualize"])
def test_a_gpu_the_backend_cannot_see_stops_the_stage(project, stage):
    write_params(project, train=dict(TRAIN, backend="auto", device="auto"))
    result = run_with_driver(project, stage)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: this machine has an NVIDIA GPU but jax sees none: install JAX's CUDA build (python3 -m pip install -r "
        "requirements-gpu.txt), or set train.device: cpu to train on the CPU"]
    assert sorted(path.name for path in project.iterdir()) == ["params.yaml"]  # no output, not even a folder


def test_device_cpu_trains_on_the_cpu_and_says_so(project):
    write_inputs(project)
    write_params(project, train=dict(TRAIN, backend="auto", device="cpu", epochs=1))
    result = run_with_driver(project, "train")
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("6 models of tutorial_cnn on 32x32x3 images, 10 classes (122,570 parameters) on "
                            "tensorflow, ") and first.endswith(
        ", float32: 0 already trained, 6 to train in 3 packs of 2")
    run = json.loads((project / contract.TRAIN_RUN).read_text())
    assert (run["backend"], run["device"], run["executor"]) == ("tensorflow", cpu_name(), "local")
