"""One trained model of a study back as a plain Keras model, to poke at in a notebook.

    from lesion import load_model
    model = load_model(17, project="path/to/study")   # model 17 of data/labels/manifest.csv
    model.predict(x / 255.0)                           # logits; x uint8 images (N, 32, 32, 3)

The pack file format is described in lesion/contract.py (and the README); this reads the model's weights from
whichever pack holds it.
"""

import contextlib
import sys
from pathlib import Path

from lesion import contract, params
from lesion.backend import machine_backend, use_backend
from lesion.errors import InputError


def load_model(model_id, project="."):
    """Model `model_id` of the study in `project` as a plain keras.Sequential (inputs in [0, 1], 10 logits).

    Raises InputError when the manifest has no such model or it is not trained yet. The Keras backend is the
    study's train.backend unless keras is already imported.
    """
    with contextlib.chdir(Path(project)):
        manifest = contract.read_manifest()
        if model_id not in set(manifest.model_id):
            raise InputError(f"{contract.MANIFEST} has no model {model_id}: its models are 0..{len(manifest) - 1}")
        if "keras" not in sys.modules:
            use_backend(machine_backend(params.load("train")))
        _, weights = contract.read_weights([model_id])
    from lesion.model.cnn import build_cnn

    model = build_cnn()
    model.set_weights([w[0] for w in weights])
    return model
