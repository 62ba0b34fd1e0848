"""The model folder's tests (tests/lesion/model) on the JAX and torch backends too.

The rest of the suite runs on TensorFlow, the default. Keras fixes its backend once per process, so each
backend gets its own pytest process.
"""

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_training_core_on_backend(backend):
    env = dict(os.environ, KERAS_BACKEND=backend)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning",
         "tests/lesion/model"],
        cwd=REPO, env=env, capture_output=True, text=True,
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "passed" in summary and "skipped" not in summary, summary
