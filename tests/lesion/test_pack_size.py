"""Pack size: the footprint fitted from two probe steps, what 80% of free memory holds, packs as even as possible, and the
choice a setting gives on a CPU and on a (simulated) GPU."""

import pytest

from lesion.errors import DeviceError
from lesion.pack_size import (MEMORY_SHARE, PROBE_COPIES, balanced_pack_size, copies_that_fit, fit_footprint,
                              measured_capacity)
from lesion.packs import choose_pack_size

MiB = 2**20


class SimulatedGpu:
    """A device whose memory grows by `fixed` + `per_copy` bytes a copy during a step, on top of `resident`, as
    the gauges (lesion.pack_size) read it."""

    def __init__(self, limit, resident, fixed, per_copy):
        self.limit, self.resident, self.fixed, self.per_copy = limit, resident, fixed, per_copy
        self.peak_bytes, self.steps = resident, []

    def run_step(self, copies):
        self.steps.append(copies)
        self.peak_bytes = max(self.peak_bytes, self.resident + self.fixed + self.per_copy * copies)

    def in_use(self):
        return self.resident

    def free(self):
        return self.limit - self.resident

    def reset_peak(self):
        self.peak_bytes = self.resident

    def peak(self):
        return self.peak_bytes


def test_the_footprint_is_the_line_through_two_probes():
    assert fit_footprint((8, 32), (8 * 20 * MiB + 300 * MiB, 32 * 20 * MiB + 300 * MiB)) == (300 * MiB, 20 * MiB)
    assert fit_footprint((8, 32), (100, 1060)) == (0.0, 40.0)  # a negative intercept (noise) is no memory


def test_copies_fill_80_percent_of_free_memory():
    assert MEMORY_SHARE == 0.8
    # 80% of 10,000 MiB = 8,000 MiB; 500 MiB fixed; 7,500 / 19.7 = 380.7
    assert copies_that_fit(10_000 * MiB, 500 * MiB, 19.7 * MiB) == 380
    assert copies_that_fit(1000, 0, 1) == 800


def test_a_device_that_holds_no_copy_or_reports_no_memory_is_an_error():
    with pytest.raises(DeviceError, match="one copy needs 600 MiB but 80% of the free 700 MiB is less"):
        copies_that_fit(700 * MiB, 500 * MiB, 100 * MiB)
    with pytest.raises(DeviceError, match="set train.pack_size to an integer"):
        copies_that_fit(700 * MiB, 0, 0)


@pytest.mark.parametrize("n_models, capacity, multiple, size", [
    (2300, 2000, 1, 1150),   # two packs of 1,150, not 2,000 + 300
    (2300, 2300, 1, 2300),
    (2300, 5000, 4, 2300),   # one pack of all (the trainer pads it to 2,300 on four devices)
    (2301, 1150, 1, 767),    # three packs of 767, not 1,150 + 1,150 + 1
    (10, 4, 1, 4),           # three packs at least: 4 + 4 + 2
    (2300, 2000, 4, 1152),   # rounded to the four devices: 1,152 + 1,148, both padded to 1,152 slots
    (9, 8, 8, 8),            # rounding never passes the capacity
])
def test_packs_as_few_and_as_even_as_the_capacity_allows(n_models, capacity, multiple, size):
    assert balanced_pack_size(n_models, capacity, multiple) == size
    assert size <= min(capacity, n_models)


def test_the_capacity_is_measured_at_two_probe_sizes_per_device():
    gpu = SimulatedGpu(limit=80_000 * MiB, resident=600 * MiB, fixed=1_000 * MiB, per_copy=24 * MiB)
    capacity = measured_capacity(gpu.run_step, gpu, devices=1)
    assert gpu.steps == list(PROBE_COPIES) == [8, 32]
    assert capacity == int((0.8 * 79_400 - 1_000) / 24)  # 2,605
    two = SimulatedGpu(limit=80_000 * MiB, resident=600 * MiB, fixed=1_000 * MiB, per_copy=24 * MiB)
    # Sharded over two devices, a device holds half the copies: each probe is twice as large, and so is the pack.
    two_steps = []
    capacity_two = measured_capacity(lambda copies: (two_steps.append(copies), two.run_step(copies // 2)), two, 2)
    assert two_steps == [16, 64] and capacity_two == 2 * capacity


def test_the_setting_decides_and_only_a_gpu_is_probed():
    class Executor:
        on_gpu, devices, probed = False, 1, 0

        def capacity(self, network, x_train):
            self.probed += 1
            return 2000

    cpu = Executor()
    assert choose_pack_size("auto", 2300, cpu, None, None) == 1 and cpu.probed == 0
    assert choose_pack_size(64, 10, cpu, None, None) == 10 and choose_pack_size(4, 10, cpu, None, None) == 4
    gpu = Executor()
    gpu.on_gpu = True
    assert choose_pack_size("auto", 2300, gpu, None, None) == 1150 and gpu.probed == 1
    assert choose_pack_size("auto", 0, gpu, None, None) == 1 and gpu.probed == 1  # nothing to train: no probe
    assert choose_pack_size(500, 2300, gpu, None, None) == 500  # an integer is taken as it is
