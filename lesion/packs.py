"""The train stage's work: plan the packs, keep the finished ones, train the rest, write each in the background.

A pack file whose fingerprint (model code, train params, seeds, labels) matches the plan, and that reads back
completely with its stored checksum, counts as trained, so an interrupted `dvc repro` resumes after the last
finished pack; a damaged pack is trained again, files of an older plan and temporaries of killed runs are removed.
"""

import shutil
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from tqdm import tqdm

from lesion import contract
from lesion.errors import DamagedPackError, InputError, ParamsError, TrainingError
from lesion.files import remove, stale_temporaries
from lesion.model import fingerprint
from lesion.model.cnn import NUM_CLASSES


def finished(path, model_ids, expected_fingerprint):
    """The training history of the pack file if it holds these models, trained with the current fingerprint, and
    reads back intact; None if the pack is still to train."""
    if not path.exists():
        return None
    try:
        pack = contract.read_pack(path)
    except DamagedPackError as error:
        print(f"note: {path} is damaged ({error.reason}); training it again")
        return None
    same = np.array_equal(pack.model_ids, model_ids) and pack.fingerprint == expected_fingerprint
    return pack.history if same else None


def describe_models(ids):
    return ", ".join(map(str, ids[:8])) + (", ..." if len(ids) > 8 else "")


def check_inputs(params, labels):
    """What would otherwise fail deep in training, or be misreported as a diverged loss."""
    if labels.size and labels.max() >= NUM_CLASSES:
        raise InputError(f"{contract.LABELS} holds label {labels.max()}, outside 0..{NUM_CLASSES - 1}: rerun dvc "
                         "repro corrupt")
    if params["batch_size"] > labels.shape[1]:
        raise ParamsError(f"train.batch_size {params['batch_size']} is larger than the {labels.shape[1]} training "
                          "images: lower train.batch_size")


def write_pack(path, pack):
    """Write one finished pack; a failed write (a full disk) becomes an error that names the disk."""
    try:
        contract.write_pack(path, pack)
    except OSError as error:
        free = shutil.disk_usage(path.parent).free / 2**30
        raise TrainingError(f"cannot write {path}: {error.strerror} ({free:.1f} GiB free on the disk of "
                            f"{contract.MODELS_DIR}); free space and rerun dvc repro train, finished packs are "
                            "kept") from None


def check_writes(writes):
    """Raise a failed write's error now: every write but the newest must have finished, and succeeded."""
    for write in writes[:-1]:
        write.result()
    if writes and writes[-1].done():
        writes[-1].result()


def sweep(paths):
    """Remove pack files of an older plan and the temporaries of killed runs."""
    contract.MODELS_DIR.mkdir(parents=True, exist_ok=True)
    for stale in set(contract.pack_files()) - set(paths):
        stale.unlink()
    for stale in stale_temporaries(contract.MODELS_DIR):
        remove(stale)


def train_all(params, manifest, labels, x_train):
    """Train every model of the manifest that has no finished pack; return the history (models, epochs, 2)."""
    import keras

    from lesion.model.packing import choose_pack_size, plan_packs
    from lesion.model.trainer import PackTrainer, train_models

    check_inputs(params, labels)
    keras.config.set_dtype_policy(params["precision"])
    pack_size = choose_pack_size(params["pack_size"], len(manifest))
    packs = plan_packs(manifest, pack_size)
    seeds = manifest.seed.to_numpy()
    paths = [contract.pack_path(i) for i in range(len(packs))]
    sweep(paths)
    prints = [fingerprint(params, seeds[ids], labels[ids]) for ids in packs]
    histories = {i: finished(paths[i], ids, prints[i]) for i, ids in enumerate(packs)}
    todo = [i for i, history in histories.items() if history is None]
    steps = params["epochs"] * (labels.shape[1] // params["batch_size"])
    print(f"{len(manifest)} models in {len(packs)} packs of {pack_size} on {params['backend']}; "
          f"{len(packs) - len(todo)} packs already trained")
    images = keras.ops.convert_to_tensor(x_train)
    trainers = {}
    # One writer thread saves each finished pack while the next one trains, so the accelerator never waits on
    # the disk; a failed write stops training before the pack after next, and leaving the block waits for every
    # write, also when training stops with an error.
    with ThreadPoolExecutor(max_workers=1) as writer, tqdm(
        total=sum(len(packs[i]) for i in todo) * steps, unit="model-step", unit_scale=True, desc="train",
        smoothing=0.05, mininterval=1,
    ) as bar:
        writes = []
        for i in todo:
            check_writes(writes)
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
            writes.append(writer.submit(write_pack, paths[i], contract.Pack(ids, prints[i], history, weights)))
            histories[i] = history
        for write in writes:
            write.result()
    history = np.zeros((len(manifest), params["epochs"], 2), np.float32)
    for ids, pack_history in zip(packs, histories.values()):
        history[ids] = pack_history
    return history
