"""Selecting the Keras backend, which must happen before anything imports keras, and the device it computes on.

`start_backend` is how every stage that computes (train, evaluate, visualize) starts: it decides `train.backend:
auto`, hides the GPUs for `train.device: cpu`, and refuses to fall back to the CPU silently when the machine has an
NVIDIA GPU that the backend cannot see (a CPU-only build: about 98 hours for the default study instead of minutes).
"""

import os
import platform
import sys
import tempfile
from pathlib import Path

from lesion.errors import DeviceError, ParamsError

GPU_SETUP = "python3 -m pip install -r requirements-gpu.txt"
# What makes each backend see an NVIDIA GPU.
GPU_INSTALL = {
    "jax": f"install JAX's CUDA build ({GPU_SETUP})",
    "tensorflow": f"install TensorFlow's CUDA libraries ({GPU_SETUP})",
    "torch": "install a CUDA build of torch (pytorch.org gives the command for your CUDA version)",
}


def uses_gpu(device, gpu_present):
    """Whether training is to run on GPUs: train.device gpu, or auto where there are GPUs (`gpu_present`)."""
    return device == "gpu" or (device == "auto" and gpu_present)


def resolve_backend(train, gpu_present):
    """train.backend with `auto` decided: JAX where training runs on GPUs, TensorFlow on a CPU, each the fastest
    measured there (README, Speed). `gpu_present`: whether the machine (or the Ray cluster) has GPUs."""
    if train["backend"] != "auto":
        return train["backend"]
    return "jax" if uses_gpu(train["device"], gpu_present) else "tensorflow"


def machine_backend(train):
    """train.backend as this machine decides `auto` (for a stage that only draws, or a notebook)."""
    return resolve_backend(train, has_nvidia_driver())


def start_backend(train):
    """Make train params' backend the Keras backend of this process, computing where train.device says; return
    the backend's name (auto resolved).

    `cpu` hides every GPU from the backend; `auto` and `gpu` stop with a DeviceError when the backend sees no GPU
    although the machine has an NVIDIA driver (or, for `gpu`, in any case), naming what to install.
    """
    name = machine_backend(train)
    if train["device"] == "cpu":
        hide_gpus()
    use_backend(name)
    check_device(name, train["device"])
    return name


def hide_gpus():
    """Keep every backend off the GPUs: CUDA shows none, JAX uses its CPU platform."""
    os.environ["CUDA_VISIBLE_DEVICES"] = ""
    os.environ["JAX_PLATFORMS"] = "cpu"


def check_device(name, device):
    """No silent CPU fallback: raise a DeviceError when the active backend sees no GPU where one is wanted."""
    if device == "cpu" or visible_gpus():
        return
    if has_nvidia_driver():
        raise DeviceError(f"this machine has an NVIDIA GPU but {name} sees none: {GPU_INSTALL[name]}, or set "
                          "train.device: cpu to train on the CPU")
    if device == "gpu":
        raise DeviceError(f"train.device is gpu but this machine has no NVIDIA driver: set train.device to auto or "
                          "cpu")


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


def visible_gpus():
    """The names of the GPUs the active Keras backend can compute on; empty on a CPU."""
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return [device.device_kind for device in jax.devices() if device.platform == "gpu"]
    if backend == "torch":
        import torch

        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    import tensorflow as tf

    return [tf.config.experimental.get_device_details(gpu).get("device_name", "GPU")
            for gpu in tf.config.list_physical_devices("GPU")]


def device_name():
    """What the active Keras backend computes on: the GPU's name and count, or the CPU's model and core count."""
    gpus = visible_gpus()
    return f"{gpus[0]} (x{len(gpus)})" if gpus else cpu_name()


def cpu_name():
    """The CPU's model name (from /proc/cpuinfo where there is one) and its core count."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        model = names[0] if names else model
    return f"{model}, {os.cpu_count()} cores"
