"""The train stage's work: reuse every finished model, train the others in packs, write each in the background.

A model's identity is its key (lesion.model.model_keys: code, train params, seed, label set), never its id or its
pack: ids shift when trials are added, so every pack file that reads back intact is searched for wanted models.
A pack whose models are all wanted under the same ids stays as it is; any other is rewritten with its wanted
models only (under their current ids) or removed. The models left are planned into packs at the free pack
indices, so growing a study trains only its new models, an interrupted `dvc repro` resumes after the last
finished pack, and temporaries of killed runs are removed.
"""

import shutil
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from tqdm import tqdm

from lesion import contract
from lesion.bench import evaluated_epochs
from lesion.errors import DamagedPackError, InputError, ParamsError, TrainingError
from lesion.executors import executor_line
from lesion.files import remove, stale_temporaries
from lesion.model import model_keys
from lesion.model.packed import pallas_fits
from lesion.pack_size import CPU_PACK_SIZE, balanced_pack_size


def reuse_finished(keys, model_ids):
    """Keep every finished model whose key is wanted (`keys[i]` is model `model_ids[i]`'s), rewriting or removing
    the pack files that hold others; return {model id: history} of the kept models."""
    wanted = dict(zip(keys, model_ids.tolist()))
    histories = {}
    for path in contract.pack_files():
        try:
            pack = contract.read_pack(path)
        except DamagedPackError as error:
            print(f"note: {path} cannot be reused ({error.reason}); its models are trained again")
            path.unlink()
            continue
        copies = [i for i, key in enumerate(pack.keys) if key in wanted and wanted[key] not in histories]
        ids = np.array([wanted[pack.keys[i]] for i in copies], dtype=np.int64)
        if not copies:
            path.unlink()
        elif len(copies) < len(pack.keys) or not np.array_equal(ids, pack.model_ids):
            write_pack(path, pack.subset(copies, ids))
        histories.update(zip(ids.tolist(), pack.history[copies]))
    return histories


def free_pack_paths(count):
    """The first `count` pack paths no file holds yet: gaps first, so a resumed plan refills the same names."""
    taken, paths, index = set(contract.pack_files()), [], 0
    while len(paths) < count:
        if contract.pack_path(index) not in taken:
            paths.append(contract.pack_path(index))
        index += 1
    return paths


def check_inputs(params, labels, network, x_train):
    """What would otherwise fail deep in training, or be misreported as a diverged loss."""
    if len(labels) and labels.max_label() >= network.n_classes:
        raise InputError(f"{contract.LABELS} holds label {labels.max_label()}, outside 0..{network.n_classes - 1}: "
                         "rerun dvc repro corrupt")
    if labels.n_images != len(x_train):
        raise InputError(f"{contract.LABELS} labels {labels.n_images} images, the dataset has {len(x_train)}: rerun "
                         "dvc repro corrupt")
    if params["kernels"] == "pallas" and not pallas_fits(network):
        raise ParamsError(f"train.kernels: pallas is written for tutorial_cnn on 32x32x3 images, not "
                          f"{network.describe()}: set train.kernels: xla")
    schedule = params["schedule"]
    if schedule["corrupt_from"] >= params["epochs"]:
        raise ParamsError(f"train.schedule.corrupt_from {schedule['corrupt_from']} is not an epoch of the "
                          f"{params['epochs']} trained (they count from 0): lower it, or raise train.epochs")
    if params["batch_size"] > labels.n_images:
        raise ParamsError(f"train.batch_size {params['batch_size']} is larger than the {labels.n_images} training "
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


def sweep_temporaries():
    """Remove the temporaries of killed runs."""
    contract.MODELS_DIR.mkdir(parents=True, exist_ok=True)
    for stale in stale_temporaries(contract.MODELS_DIR):
        remove(stale)


def plan_packs(manifest, pack_size):
    """Model ids in packs of `pack_size`, trial-major: a pack holds one trial of every condition first."""
    order = manifest.sort_values(["trial", "model_id"], kind="stable").model_id.to_numpy()
    return [order[i : i + pack_size] for i in range(0, len(order), pack_size)]


def train_all(executor, manifest, labels, network, x_train, y_train, test):
    """Train every model of the manifest that is not finished already, models of `network`
    (lesion.model.networks), on `executor` (lesion.executors, whose
    params are the train params with the backend resolved); `y_train` are the true labels (train.schedule), `test`
    (x_test, y_test) is evaluated after the epochs train.eval_every names. Return (history (models, epochs, 3):
    training loss, training accuracy, test accuracy; the pack size)."""
    params = executor.params
    check_inputs(params, labels, network, x_train)
    sweep_temporaries()
    seeds, ids = manifest.seed.to_numpy(), manifest.model_id.to_numpy()
    if len(ids) and ids.max() >= len(labels):
        raise InputError(f"{contract.MANIFEST} has model {ids.max()}, {contract.LABELS} label sets of {len(labels)} "
                         "models only: rerun dvc repro corrupt")
    keys = model_keys(params, network, x_train, seeds, (labels.row(m) for m in ids))
    histories = reuse_finished(keys, ids)
    todo = manifest[~manifest.model_id.isin(list(histories))]
    pack_size = choose_pack_size(params["pack_size"], len(todo), executor, network, x_train)
    packs = plan_packs(todo, pack_size)
    paths = {path.stem: path for path in free_pack_paths(len(packs))}
    steps = params["epochs"] * (labels.n_images // params["batch_size"])
    print(f"{len(manifest)} models of {network.describe()} on {executor_line(executor)}: {len(histories)} already "
          f"trained, {len(todo)} to train in {len(packs)} packs of {pack_size}", flush=True)
    jobs = (((name, pack_ids), (name, pack_ids, labels.rows(pack_ids), seeds[pack_ids])) for name, pack_ids in
            zip(paths, packs))
    # One writer thread saves each finished pack while the next one trains, so the accelerator never waits on
    # the disk; a failed write stops training before the pack after next, and leaving the block waits for every
    # write, also when training stops with an error.
    with ThreadPoolExecutor(max_workers=1) as writer, tqdm(
        total=len(todo) * steps, unit="model-step", unit_scale=True, desc="train", smoothing=0.05, mininterval=1,
    ) as bar:
        writes = []
        evaluated = np.array(evaluated_epochs(params["epochs"], params["eval_every"]), np.int32)
        for (name, pack_ids), (weights, history, evals) in executor.run(
                "train", jobs, (network, x_train, y_train, test), on_step=lambda tag: bar.update(len(tag[1]))):
            if not executor.counts_steps:
                bar.update(len(pack_ids) * steps)
            check_writes(writes)
            pack = contract.Pack(pack_ids, keys[pack_ids], history, weights, evals, evaluated, network.to_dict())
            writes.append(writer.submit(write_pack, paths[name], pack))
            histories.update(zip(pack_ids.tolist(), history))
        for write in writes:
            write.result()
    return np.stack([histories[i] for i in ids]), pack_size


def choose_pack_size(setting, n_models, executor, network, x_train):
    """train.pack_size: an integer (at most the models to train), or `auto`: one model at a time on a CPU, and on
    GPUs packs as even as possible of what the measured memory holds (lesion.pack_size)."""
    if setting != "auto":
        return max(1, min(setting, n_models))
    if not executor.on_gpu or n_models == 0:
        return CPU_PACK_SIZE
    return balanced_pack_size(n_models, executor.capacity(network, x_train), executor.devices)
