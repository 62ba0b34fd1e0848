"""Exactly the code trained weights depend on: architecture, packed layers, Adam, trainer, autodiff, packing.

`fingerprint` hashes every file of this folder, and dvc.yaml's train stage depends on the folder, so DVC and the
resume check can never disagree about which code shaped a pack's weights.
"""

import hashlib
import json
from pathlib import Path

import numpy as np

FOLDER = Path(__file__).parent


def source_files():
    """Every file of the model folder (bytecode caches aside), in a fixed order."""
    return sorted(path for path in FOLDER.rglob("*") if path.is_file() and "__pycache__" not in path.parts)


def fingerprint(train_params, seeds, labels):
    """What a pack's weights depend on: this folder's code, the train params (not the pack size), the models'
    seeds and label sets."""
    settings = {key: value for key, value in train_params.items() if key != "pack_size"}
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for path in source_files():
        digest.update(str(path.relative_to(FOLDER)).encode() + b"\0" + path.read_bytes())
    digest.update(np.ascontiguousarray(seeds, np.int64).tobytes())
    digest.update(np.ascontiguousarray(labels).tobytes())
    return digest.hexdigest()
