"""The train stage's work: plan the packs, keep the finished ones, train the rest, write each in the background.

A pack file whose fingerprint (model code, train params, seeds, labels) matches the plan counts as trained, so an
interrupted `dvc repro` resumes after the last finished pack; files of an older plan are removed.
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from tqdm import tqdm

from lesion import contract
from lesion.errors import TrainingError
from lesion.model import fingerprint


def finished(path, model_ids, expected_fingerprint):
    """True if the pack file exists and holds these models trained with the current fingerprint."""
    if not path.exists():
        return False
    pack = contract.read_pack(path, weights=False)
    return np.array_equal(pack.model_ids, model_ids) and pack.fingerprint == expected_fingerprint


def describe_models(ids):
    return ", ".join(map(str, ids[:8])) + (", ..." if len(ids) > 8 else "")


def train_all(params, manifest, labels, x_train):
    """Train every model of the manifest that has no finished pack; return the history (models, epochs, 2)."""
    import keras

    from lesion.model.packing import choose_pack_size, plan_packs
    from lesion.model.trainer import PackTrainer, train_models

    keras.config.set_dtype_policy(params["precision"])
    pack_size = choose_pack_size(params["pack_size"], len(manifest))
    packs = plan_packs(manifest, pack_size)
    seeds = manifest.seed.to_numpy()
    paths = [contract.pack_path(i) for i in range(len(packs))]
    for stale in set(contract.pack_files()) - set(paths):
        stale.unlink()
    prints = [fingerprint(params, seeds[ids], labels[ids]) for ids in packs]
    todo = [i for i, ids in enumerate(packs) if not finished(paths[i], ids, prints[i])]
    steps = params["epochs"] * (labels.shape[1] // params["batch_size"])
    print(f"{len(manifest)} models in {len(packs)} packs of {pack_size} on {params['backend']}; "
          f"{len(packs) - len(todo)} packs already trained")
    images = keras.ops.convert_to_tensor(x_train)
    trainers = {}
    # One writer thread saves each finished pack while the next one trains, so the accelerator never waits on
    # the disk; leaving the block waits for every write, also when training stops with an error.
    with ThreadPoolExecutor(max_workers=1) as writer, tqdm(
        total=sum(len(packs[i]) for i in todo) * steps, unit="model-step", unit_scale=True, desc="train",
        smoothing=0.05, mininterval=1,
    ) as bar:
        writes = []
        for i in todo:
            ids = packs[i]
            if len(ids) not in trainers:  # one compiled step per pack size (the last pack may be smaller)
                trainers[len(ids)] = PackTrainer(len(ids), params["batch_size"], params["learning_rate"])
            try:
                weights, history = train_models(trainers[len(ids)], labels[ids], images, seeds[ids], params["seed"],
                                                params["epochs"], on_step=lambda: bar.update(len(ids)))
            except FloatingPointError as error:
                raise TrainingError(f"loss became NaN or infinite in pack {i} (models {describe_models(ids)}) at "
                                    f"epoch {error.args[0] + 1}: lower train.learning_rate or use precision "
                                    "float32") from None
            pack = contract.Pack(ids, prints[i], history, weights)
            writes.append(writer.submit(contract.write_pack, paths[i], pack))
        for write in writes:
            write.result()  # raises a failed write's error here
    history = np.zeros((len(manifest), params["epochs"], 2), np.float32)
    for path in paths:
        pack = contract.read_pack(path, weights=False)
        history[pack.model_ids] = pack.history
    return history
