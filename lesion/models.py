"""The study's network and its trained models, outside training: to draw the architecture, or to poke at one
model in a notebook.

    from lesion import load_model
    model = load_model(17, project="path/to/study")   # model 17 of data/labels/manifest.csv
    model.predict(x / 255.0)                           # logits; x uint8 images (N, H, W, C) of the study's dataset

The pack file format is described in lesion/contract.py (and the README); this reads the model's weights, and the
network they belong to, from whichever pack holds it.
"""

import contextlib
import sys
from pathlib import Path

from lesion import contract, params
from lesion.backend import machine_backend, use_backend
from lesion.errors import InputError
from lesion.model.networks import Network, network_for


def study_network():
    """The network params.yaml asks for (train.model, train.width) on its dataset's images and classes."""
    data = contract.read_dataset(params.load("data")["dataset"], "x_test", "class_names")
    return network_for(params.load("train"), data["x_test"].shape[1:], len(data["class_names"]))


def load_model(model_id, project="."):
    """Model `model_id` of the study in `project` as a plain Keras model (inputs in [0, 1], one logit per class).

    Raises InputError when the manifest has no such model or it is not trained yet. The Keras backend is the
    study's train.backend unless keras is already imported.
    """
    with contextlib.chdir(Path(project)):
        manifest = contract.read_manifest()
        if model_id not in set(manifest.model_id):
            raise InputError(f"{contract.MANIFEST} has no model {model_id}: its models are 0..{len(manifest) - 1}")
        if "keras" not in sys.modules:
            use_backend(machine_backend(params.load("train")))
        _, weights, network = contract.read_weights([model_id])
    model = Network.from_dict(network).plain()
    model.set_weights([w[0] for w in weights])
    return model
