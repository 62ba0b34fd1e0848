"""The Ray executor's failures: a missing Ray and an unreachable RAY_ADDRESS are one error line each, at once; a
task's own error arrives as itself, a worker lost at every retry as one TrainingError."""

import socket
import sys

import pytest

from lesion.errors import ParamsError, TrainingError
from lesion.executors import RayExecutor, connect_ray


def test_without_ray_installed_the_error_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    with pytest.raises(ParamsError, match=r"^train.executor is ray but Ray is not installed: python3 -m pip install "
                                          r"-r requirements-ray.txt$"):
        connect_ray()


def test_an_unreachable_cluster_is_an_error_not_minutes_of_retries(monkeypatch):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{port}")
    with pytest.raises(ParamsError) as error:
        connect_ray()
    assert str(error.value).startswith(f"cannot connect to the Ray cluster at RAY_ADDRESS=127.0.0.1:{port} (")
    assert str(error.value).endswith("start it (ray start --head) or unset RAY_ADDRESS for a local one")


class FakeRay:
    """What RayExecutor.result uses of Ray: get() raising as Ray does."""

    class exceptions:
        class RayError(Exception):
            pass

        class RayTaskError(RayError):
            def __init__(self, cause):
                super().__init__(f"ray::run_on_worker() (pid=1)\n  File ...\n{cause!r}")
                self.cause = cause

    def __init__(self, error):
        self.error = error

    def get(self, ref):
        raise self.error


def executor_raising(error):
    executor = object.__new__(RayExecutor)
    executor.ray = FakeRay(error)
    return executor


def test_a_tasks_own_error_arrives_as_itself_not_as_rays_traceback():
    cause = TrainingError("loss became NaN or infinite in pack_00003 (models 1, 2) at epoch 2: lower ...")
    with pytest.raises(TrainingError) as error:
        executor_raising(FakeRay.exceptions.RayTaskError(cause)).result("ref", ("pack_00003", [1, 2]))
    assert error.value is cause
    with pytest.raises(ZeroDivisionError):  # a bug in a task: the stage reports it as one, in one line
        executor_raising(FakeRay.exceptions.RayTaskError(ZeroDivisionError("x"))).result("ref", "pack_00000")


def test_a_worker_lost_at_every_retry_is_one_training_error():
    lost = FakeRay.exceptions.RayError("The worker died unexpectedly while executing this task.\nMore lines")
    with pytest.raises(TrainingError, match=r"^Ray could not run pack_00001 \(The worker died unexpectedly while "
                                            r"executing this task. More lines\), also not in 3 retries: rerun dvc "
                                            r"repro \(finished packs are kept\)$"):
        executor_raising(lost).result("ref", ("pack_00001", [4]))
