"""The Keras backend switch; on a machine without an NVIDIA driver TensorFlow starts without its C++ noise."""

import subprocess
import sys

import pytest

from lesion import backend
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
