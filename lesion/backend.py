"""Selecting the Keras backend, which must happen before anything imports keras."""

import os
import sys

from lesion.errors import ParamsError


def use_backend(name):
    """Make `name` (tensorflow, jax or torch; params.yaml's train.backend) the Keras backend of this process."""
    loaded = sys.modules.get("keras")
    if loaded is not None and loaded.backend.backend() != name:
        raise ParamsError(f"keras is already loaded with the {loaded.backend.backend()} backend, not {name}")
    os.environ["KERAS_BACKEND"] = name
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
