"""How models are grouped into packs: the pack size for the hardware, and the order models fill the packs in."""

import keras

# Accelerator memory one copy needs in training at batch size 32 (weights, Adam moments, activations and
# gradients of the patch formulation): measured 19.7 MiB in float32 (44.3 GiB peak for 2,300 copies on an H100,
# benchmarks/train_speed.py), 12 MiB in bf16; rounded up for headroom.
BYTES_PER_COPY = 24 * 2**20
MAX_PACK_SIZE = 2400
CPU_PACK_SIZE = 1  # measured: on a 2-core CPU one model at a time with native convolutions is fastest (README)


def choose_pack_size(setting, n_models):
    """train.pack_size: an integer, or `auto` = one model at a time on a CPU, else what the accelerator holds."""
    if setting != "auto":
        return min(setting, n_models)
    return min(accelerator_pack_size() or CPU_PACK_SIZE, n_models)


def plan_packs(manifest, pack_size):
    """Model ids in packs of `pack_size`, trial-major: a pack holds one trial of every condition first."""
    order = manifest.sort_values(["trial", "model_id"], kind="stable").model_id.to_numpy()
    return [order[i : i + pack_size] for i in range(0, len(order), pack_size)]


def accelerator_pack_size():
    """Copies per pack for the visible GPU, or None when training runs on the CPU."""
    total = gpu_memory_bytes()
    if total is None:
        return None
    return max(1, min(MAX_PACK_SIZE, int(0.8 * total) // BYTES_PER_COPY))


def gpu_memory_bytes():
    """Total memory of the first GPU of the active backend, None without one."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        gpus = [d for d in jax.devices() if d.platform == "gpu"]
        return gpus[0].memory_stats().get("bytes_limit") if gpus else None
    if backend == "torch":
        import torch

        return torch.cuda.get_device_properties(0).total_memory if torch.cuda.is_available() else None
    import tensorflow as tf

    # TensorFlow does not report a GPU's size; assume a modest 16 GiB card.
    return 16 * 2**30 if tf.config.list_physical_devices("GPU") else None
