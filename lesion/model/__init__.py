"""Exactly the code trained weights depend on: architecture, packed layers, Adam, trainer, autodiff.

`model_keys` hashes every file of this folder into each model's identity, and dvc.yaml's train stage depends on the
folder, so DVC and the reuse of finished models can never disagree about which code shaped a model's weights.
"""

import hashlib
import json
from pathlib import Path

import numpy as np

FOLDER = Path(__file__).parent
# Train params that decide where and how many models train together, never what one model becomes. Not
# train.kernels: the Pallas kernels round bf16 at other points than XLA does and have not run on a GPU yet, so a
# model they trained is kept apart from XLA's.
PLACEMENT_PARAMS = ("pack_size", "device", "executor")


def source_files():
    """Every file of the model folder (bytecode caches aside), in a fixed order."""
    return sorted(path for path in FOLDER.rglob("*") if path.is_file() and "__pycache__" not in path.parts)


def code_and_params_digest(train_params, network, images):
    """What every model's weights depend on besides its own seed and labels: this folder's code, the train
    params, `backend` resolved (auto is never hashed), placement aside (PLACEMENT_PARAMS never change a model), the
    network (lesion.model.networks: train.width only where it applies) and the training images."""
    if train_params["backend"] == "auto":
        raise ValueError("resolve train.backend before hashing it (lesion.backend.resolve_backend)")
    settings = {key: value for key, value in train_params.items() if key not in PLACEMENT_PARAMS + ("width",)}
    settings["network"] = network.to_dict()
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    digest.update(hashlib.sha256(np.ascontiguousarray(images).tobytes()).digest())
    for path in source_files():
        digest.update(str(path.relative_to(FOLDER)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def model_keys(train_params, network, images, seeds, labels):
    """Each model's identity: a hash of the code, the train params, the network, the training images, its seed
    and its label set.

    Two models with the same key have the same weights whatever their model ids or packs, so a grown study
    reuses every finished model (lesion.packs).
    """
    shared = code_and_params_digest(train_params, network, images).encode()
    keys = []
    for seed, label_set in zip(seeds, labels):
        digest = hashlib.sha256(shared)
        digest.update(np.int64(seed).tobytes())
        digest.update(np.ascontiguousarray(label_set).tobytes())
        keys.append(digest.hexdigest())
    return np.array(keys)
