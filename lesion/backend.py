"""Selecting the Keras backend, which must happen before anything imports keras."""

import os
import platform
import sys
import tempfile
from pathlib import Path

from lesion.errors import ParamsError


def use_backend(name):
    """Make `name` (tensorflow, jax or torch; params.yaml's train.backend) the Keras backend of this process."""
    loaded = sys.modules.get("keras")
    if loaded is not None and loaded.backend.backend() != name:
        raise ParamsError(f"keras is already loaded with the {loaded.backend.backend()} backend, not {name}")
    os.environ["KERAS_BACKEND"] = name
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if name == "tensorflow" and not has_nvidia_driver():
        start_tensorflow_quietly()


def has_nvidia_driver():
    """Whether the NVIDIA kernel driver is loaded: only then can TensorFlow's CUDA start-up lines matter."""
    return Path("/proc/driver/nvidia/version").exists()


def start_tensorflow_quietly():
    """Import TensorFlow and start its runtime with the process's stderr (file descriptor 2) sent to a scratch file.

    TensorFlow's C++ start-up lines (oneDNN notes, "Could not find cuda drivers", "failed call to cuInit") are
    written before its logging is configured, so TF_CPP_MIN_LOG_LEVEL does not hide them; on a machine without
    an NVIDIA driver they are noise between the progress bars. Should the start itself fail, they are printed.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as scratch:
        os.dup2(scratch.fileno(), 2)
        try:
            import tensorflow as tf

            tf.constant(0.0) + 1.0  # the first op starts the runtime, which probes for CUDA
        except BaseException:
            os.dup2(saved, 2)
            scratch.seek(0)
            sys.stderr.write(scratch.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def device_name():
    """What the active Keras backend computes on: the GPU's name, or the CPU's model and core count."""
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        device = jax.devices()[0]
        if device.platform != "cpu":
            return f"{device.device_kind} (x{jax.device_count()})"
    elif backend == "torch":
        import torch

        if torch.cuda.is_available():
            return f"{torch.cuda.get_device_name(0)} (x{torch.cuda.device_count()})"
    else:
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            return f"{tf.config.experimental.get_device_details(gpus[0]).get('device_name', 'GPU')} (x{len(gpus)})"
    return cpu_name()


def cpu_name():
    """The CPU's model name (from /proc/cpuinfo where there is one) and its core count."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        model = names[0] if names else model
    return f"{model}, {os.cpu_count()} cores"
