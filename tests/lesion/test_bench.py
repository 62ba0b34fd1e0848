"""A device out of memory, in training or in the memory probe, is one error line that says what to set."""

from types import SimpleNamespace

import numpy as np
import pytest

from lesion import bench
from lesion.errors import DeviceError, TrainingError
from lesion.model.networks import Network


PARAMS = {"batch_size": 2, "learning_rate": 1e-3, "seed": 0, "epochs": 1, "eval_every": 1,
          "schedule": {"corrupt_from": 0, "corrupt_until": None}}


class XlaRuntimeError(Exception):
    """Named as JAX names it."""


class FailingTrainer:
    network = Network()

    def __init__(self, error):
        self.error = error

    def train(self, *args, **kwargs):
        raise self.error


@pytest.mark.parametrize("error", [
    XlaRuntimeError("RESOURCE_EXHAUSTED: Out of memory while trying to allocate 81604378624 bytes."),
    type("ResourceExhaustedError", (Exception,), {})("OOM when allocating tensor"),
    type("OutOfMemoryError", (Exception,), {})("CUDA out of memory. Tried to allocate 20.00 GiB"),
])
def test_out_of_memory_in_training_says_to_set_a_smaller_pack_size(monkeypatch, error):
    workbench = bench.Bench(PARAMS)
    monkeypatch.setattr(workbench, "trainer", lambda network, copies: FailingTrainer(error))
    monkeypatch.setattr(workbench, "evaluator", lambda network, copies: SimpleNamespace(slots=copies))
    with pytest.raises(TrainingError, match=r"^the device ran out of memory training pack_00002 \(3 copies\): set "
                                            r"train.pack_size to a smaller integer$"):
        workbench.train("pack_00002", np.arange(3), np.zeros((3, 4), np.uint8), np.arange(3), Network(), np.zeros(1),
                        np.zeros(4), (None, None))


def test_other_errors_are_not_taken_for_memory(monkeypatch):
    workbench = bench.Bench(PARAMS)
    monkeypatch.setattr(workbench, "trainer", lambda network, copies: FailingTrainer(ValueError("shapes differ")))
    monkeypatch.setattr(workbench, "evaluator", lambda network, copies: SimpleNamespace(slots=copies))
    with pytest.raises(ValueError, match="shapes differ"):
        workbench.train("pack_00002", np.arange(3), np.zeros((3, 4), np.uint8), np.arange(3), Network(), np.zeros(1),
                        np.zeros(4), (None, None))


def test_out_of_memory_in_the_probe_is_a_device_error(monkeypatch):
    import lesion.pack_size

    def probe_out_of_memory(run_step, gauge, devices):
        raise XlaRuntimeError("RESOURCE_EXHAUSTED: Out of memory")

    monkeypatch.setattr(lesion.pack_size, "measured_capacity", probe_out_of_memory)
    monkeypatch.setattr(lesion.pack_size, "memory_gauge", lambda: None)
    workbench = bench.Bench(PARAMS)
    with pytest.raises(DeviceError, match="^the GPU ran out of memory in a probe step of a few copies: free its "
                                          "memory .* or set train.pack_size to an integer$"):
        workbench.capacity(Network(), np.zeros((4, 32, 32, 3), np.uint8))


def test_evaluated_epochs_are_every_nth_and_the_last():
    assert bench.evaluated_epochs(10, 1) == list(range(1, 11))
    assert bench.evaluated_epochs(10, 3) == [3, 6, 9, 10]
    assert bench.evaluated_epochs(10, 20) == [10]
    assert bench.evaluated_epochs(10, 0) == []


@pytest.mark.parametrize("schedule, corrupted", [
    ((0, None), None), ((0, 10), None), ((0, 12), None),  # every epoch: the code path of a study without schedules
    ((0, 4), {0, 1, 2, 3}), ((6, None), {6, 7, 8, 9}), ((2, 5), {2, 3, 4}), ((9, 30), {9}),
])
def test_corrupted_epochs_of_a_schedule(schedule, corrupted):
    start, until = schedule
    assert bench.corrupted_epochs({"corrupt_from": start, "corrupt_until": until}, 10) == corrupted
