"""A device out of memory, in training or in the memory probe, is one error line that says what to set."""

import numpy as np
import pytest

from lesion import bench
from lesion.errors import DeviceError, TrainingError


class XlaRuntimeError(Exception):
    """Named as JAX names it."""


class FailingTrainer:
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
    workbench = bench.Bench({"batch_size": 2, "learning_rate": 1e-3, "seed": 0, "epochs": 1})
    monkeypatch.setattr(workbench, "trainer", lambda copies: FailingTrainer(error))
    monkeypatch.setattr(workbench, "evaluator", lambda copies: None)
    with pytest.raises(TrainingError, match=r"^the device ran out of memory training pack_00002 \(3 copies\): set "
                                            r"train.pack_size to a smaller integer$"):
        workbench.train("pack_00002", np.arange(3), np.zeros((3, 4), np.uint8), np.arange(3), np.zeros(1), (None, None))


def test_other_errors_are_not_taken_for_memory(monkeypatch):
    workbench = bench.Bench({"batch_size": 2, "learning_rate": 1e-3, "seed": 0, "epochs": 1})
    monkeypatch.setattr(workbench, "trainer", lambda copies: FailingTrainer(ValueError("shapes differ")))
    monkeypatch.setattr(workbench, "evaluator", lambda copies: None)
    with pytest.raises(ValueError, match="shapes differ"):
        workbench.train("pack_00002", np.arange(3), np.zeros((3, 4), np.uint8), np.arange(3), np.zeros(1), (None, None))


def test_out_of_memory_in_the_probe_is_a_device_error(monkeypatch):
    import lesion.pack_size

    def probe_out_of_memory(run_step, gauge, devices):
        raise XlaRuntimeError("RESOURCE_EXHAUSTED: Out of memory")

    monkeypatch.setattr(lesion.pack_size, "measured_capacity", probe_out_of_memory)
    monkeypatch.setattr(lesion.pack_size, "memory_gauge", lambda: None)
    workbench = bench.Bench({"batch_size": 2, "learning_rate": 1e-3, "seed": 0, "epochs": 1})
    with pytest.raises(DeviceError, match="^the GPU ran out of memory in a probe step of a few copies: free its "
                                          "memory .* or set train.pack_size to an integer$"):
        workbench.capacity(np.zeros((4, 32, 32, 3), np.uint8))
