"""The Keras backend switch; on a machine without an NVIDIA driver TensorFlow starts without its C++ noise; auto
resolves by the hardware, and a GPU the backend cannot see is an error, never a silent CPU run."""

import os
import subprocess
import sys

import pytest

from lesion import backend
from lesion.errors import DeviceError
from tests.conftest import stage_env

PROGRAM = """
from lesion.backend import use_backend
use_backend("tensorflow")
import keras, tensorflow as tf
step = tf.function(lambda x: keras.ops.sum(keras.ops.square(x)))
print(float(step(tf.ones(3))))
"""


@pytest.mark.skipif(backend.has_nvidia_driver(), reason="this machine has an NVIDIA driver: the lines are kept")
def test_tensorflow_prints_nothing_on_stderr_without_a_driver():
    result = subprocess.run([sys.executable, "-c", PROGRAM], env=stage_env(), capture_output=True, text=True)
    assert (result.stdout, result.stderr) == ("3.0\n", "")


def test_the_start_up_lines_are_kept_where_a_driver_is(monkeypatch):
    started = []
    monkeypatch.setattr(backend, "has_nvidia_driver", lambda: True)
    monkeypatch.setattr(backend, "start_tensorflow_quietly", lambda: started.append(True))
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    monkeypatch.delitem(sys.modules, "keras", raising=False)
    backend.use_backend("tensorflow")
    assert started == []
    monkeypatch.setattr(backend, "has_nvidia_driver", lambda: False)
    backend.use_backend("tensorflow")
    assert started == [True]


@pytest.mark.parametrize("setting, device, gpu_present, resolved", [
    ("auto", "auto", True, "jax"),
    ("auto", "auto", False, "tensorflow"),
    ("auto", "cpu", True, "tensorflow"),
    ("auto", "gpu", False, "jax"),  # and then check_device stops: no GPU
    ("torch", "auto", True, "torch"),
    ("tensorflow", "gpu", True, "tensorflow"),
])
def test_auto_is_jax_on_a_gpu_and_tensorflow_on_a_cpu(setting, device, gpu_present, resolved):
    assert backend.resolve_backend({"backend": setting, "device": device}, gpu_present) == resolved


@pytest.mark.parametrize("name, install", [
    ("jax", "install JAX's CUDA build (python3 -m pip install -r requirements-gpu.txt)"),
    ("tensorflow", "install TensorFlow's CUDA libraries (python3 -m pip install -r requirements-gpu.txt)"),
    ("torch", "install a CUDA build of torch"),
])
def test_a_gpu_the_backend_cannot_see_stops_with_the_install_command(monkeypatch, name, install):
    monkeypatch.setattr(backend, "has_nvidia_driver", lambda: True)
    monkeypatch.setattr(backend, "visible_gpus", lambda: [])
    for device in ("auto", "gpu"):
        with pytest.raises(DeviceError) as error:
            backend.check_device(name, device)
        assert str(error.value).startswith(f"this machine has an NVIDIA GPU but {name} sees none: {install}")
        assert str(error.value).endswith("or set train.device: cpu to train on the CPU")
    backend.check_device(name, "cpu")  # asked for explicitly: no error
    monkeypatch.setattr(backend, "visible_gpus", lambda: ["NVIDIA H100"])
    backend.check_device(name, "gpu")


def test_without_a_driver_only_an_explicit_gpu_is_an_error(monkeypatch):
    monkeypatch.setattr(backend, "has_nvidia_driver", lambda: False)
    monkeypatch.setattr(backend, "visible_gpus", lambda: [])
    backend.check_device("tensorflow", "auto")
    with pytest.raises(DeviceError, match="^train.device is gpu but this machine has no NVIDIA driver: set "
                                          "train.device to auto or cpu$"):
        backend.check_device("tensorflow", "gpu")


def test_device_cpu_hides_every_gpu_and_picks_the_cpus_backend(monkeypatch):
    monkeypatch.setattr(backend, "has_nvidia_driver", lambda: True)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    monkeypatch.delenv("JAX_PLATFORMS", raising=False)
    assert backend.start_backend({"backend": "auto", "device": "cpu"}) == "tensorflow"  # keras runs TF here
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "" and os.environ["JAX_PLATFORMS"] == "cpu"


def test_tensorflow_compiles_with_xla_only_where_it_sees_a_gpu(monkeypatch):
    """As Keras' jit_compile="auto": XLA with a GPU, the plain graph on a CPU. An op XLA cannot compile tells
    which one a compiled function got."""
    import tensorflow as tf

    from lesion.model import autodiff

    not_for_xla = lambda x: tf.strings.length(tf.strings.as_string(x))  # noqa: E731 (AsString has no XLA kernel)
    x = tf.constant([1.0, 22.0])
    gpus = []
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: gpus if kind == "GPU" else [])
    assert not autodiff.tensorflow_uses_xla()
    assert autodiff.compile(not_for_xla)(x).numpy().tolist() == [8, 9]
    gpus.append(tf.config.PhysicalDevice("/physical_device:GPU:0", "GPU"))
    assert autodiff.tensorflow_uses_xla()
    with pytest.raises(tf.errors.InvalidArgumentError, match="unsupported operations when trying to compile"):
        autodiff.compile(not_for_xla)(x)
