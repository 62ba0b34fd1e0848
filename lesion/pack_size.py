"""How many copies train together: one on a CPU, on a GPU what its measured free memory holds.

Nothing here changes what a model becomes (a model trains to the same weights in any pack), so it lives outside
lesion/model. On a GPU a copy's footprint is measured, not assumed: one training step at two pack sizes (8 and 32
copies per device) gives the peak memory of each, a line through the two gives a fixed part and a per-copy part,
and a pack may fill MEMORY_SHARE of the memory the backend's allocator had free before the probe (JAX reserves 75%
of a card for its allocator by default, so there about 60% of the card). The study is then cut into packs as even
as possible, so 2,300 models at a capacity of 2,000 train as 2 packs of 1,150, one compiled step for both.
"""

import math

import numpy as np

from lesion.errors import DeviceError

CPU_PACK_SIZE = 1  # measured: on a 2-core CPU one model at a time with native convolutions is fastest (README)
PROBE_COPIES = (8, 32)  # per device
MEMORY_SHARE = 0.8


def fit_footprint(copies, peaks):
    """(fixed bytes, bytes per copy) of the line through two (copies, peak bytes) measurements."""
    (small, large), (low, high) = copies, peaks
    per_copy = (high - low) / (large - small)
    return max(0.0, low - per_copy * small), per_copy


def copies_that_fit(free, fixed, per_copy, share=MEMORY_SHARE):
    """The most copies whose footprint (fixed + per_copy each) stays within `share` of `free` bytes."""
    if per_copy <= 0:
        raise DeviceError("the probe steps measured no memory per copy (the backend reports no peak memory): set "
                          "train.pack_size to an integer")
    fits = math.floor((share * free - fixed) / per_copy)
    if fits < 1:
        raise DeviceError(f"one copy needs {(fixed + per_copy) / 2**20:.0f} MiB but {share:.0%} of the free "
                          f"{free / 2**20:.0f} MiB is less: free GPU memory (another process?) or set "
                          "train.device: cpu")
    return fits


def balanced_pack_size(n_models, capacity, multiple=1):
    """The pack size that trains `n_models` in as few packs of at most `capacity` as possible, the packs as even as
    the size allows: all models in one pack where they fit, else ceil(n / packs) rounded up to a multiple of
    `multiple` (the device count, of which the capacity is one), so no device idles on padding."""
    if n_models <= capacity:
        return n_models
    size = math.ceil(n_models / math.ceil(n_models / capacity))
    return min(math.ceil(size / multiple) * multiple, capacity)


def measured_capacity(run_step, gauge, devices):
    """Copies a pack can hold: probe steps at PROBE_COPIES per device, fitted per device and scaled by `devices`.

    `run_step(copies)` runs one training step of a pack of that size; `gauge` reads the first device's memory
    (`free()`, `in_use()`, `reset_peak()`, `peak()`, in bytes), which a sharded pack fills as every other does.
    """
    baseline, free = gauge.in_use(), gauge.free()
    peaks = []
    for per_device in PROBE_COPIES:
        gauge.reset_peak()
        run_step(per_device * devices)
        peaks.append(gauge.peak() - baseline)
    fixed, per_copy = fit_footprint(PROBE_COPIES, peaks)
    return devices * copies_that_fit(free, fixed, per_copy)


class JaxGauge:
    """A JAX device's allocator statistics. JAX cannot reset its peak, so the probes run smallest first (their
    peaks grow) and measure before training has allocated more than the data."""

    def __init__(self):
        import jax

        self.device = jax.local_devices()[0]

    def stats(self):
        return self.device.memory_stats() or {}

    def in_use(self):
        return self.stats().get("bytes_in_use", 0)

    def free(self):
        stats = self.stats()
        return stats.get("bytes_limit", 0) - stats.get("bytes_in_use", 0)

    def reset_peak(self):
        pass

    def peak(self):
        return self.stats().get("peak_bytes_in_use", 0)


class TorchGauge:
    """torch's CUDA caching allocator: memory the driver has free plus what the cache holds unused."""

    def __init__(self):
        import torch

        self.cuda = torch.cuda

    def in_use(self):
        return self.cuda.memory_allocated()

    def free(self):
        return self.cuda.mem_get_info()[0] + self.cuda.memory_reserved() - self.cuda.memory_allocated()

    def reset_peak(self):
        self.cuda.reset_peak_memory_stats()

    def peak(self):
        return self.cuda.max_memory_allocated()


class TensorFlowGauge:
    """TensorFlow's allocator on GPU:0; its limit comes from the device list, as TensorFlow reports no total."""

    DEVICE = "GPU:0"

    def __init__(self):
        import tensorflow as tf
        from tensorflow.python.client import device_lib

        self.memory = tf.config.experimental
        self.limit = next(d.memory_limit for d in device_lib.list_local_devices() if d.device_type == "GPU")

    def in_use(self):
        return self.memory.get_memory_info(self.DEVICE)["current"]

    def free(self):
        return self.limit - self.in_use()

    def reset_peak(self):
        self.memory.reset_memory_stats(self.DEVICE)

    def peak(self):
        return self.memory.get_memory_info(self.DEVICE)["peak"]


def memory_gauge():
    """The active Keras backend's gauge of its first GPU."""
    import keras

    return {"jax": JaxGauge, "torch": TorchGauge, "tensorflow": TensorFlowGauge}[keras.backend.backend()]()


def probe_step(make_trainer, images, batch_size):
    """run_step for `measured_capacity`: one training step of a fresh pack of `copies` on the real images."""

    def run_step(copies):
        seeds = np.arange(copies)
        labels = np.zeros((copies, batch_size), np.uint8)  # one batch per copy: one step
        trainer = make_trainer(copies)
        trainer.train(trainer.network.initial_pack_weights(seeds), labels, images, seeds, 0, 1)

    return run_step
