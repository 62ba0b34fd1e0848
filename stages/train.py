"""Stage `train`: train every model of data/labels/manifest.csv, K copies per compiled step.

Writes one file per finished pack to data/models/ (declared `persist: true`), so an interrupted run resumes
from the last finished pack; a pack file whose fingerprint (train params, the models' seeds and labels) does not
match the current plan is trained again. Training curves, aggregated per condition, go through dvclive.
"""

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from stages.cnn import MODELS_DIR, initial_weights, pack_files
from stages.common import StageError, load_params, remove, require, run_stage, save_npz, use_backend

DATA = Path("data/cifar10.npz")
MANIFEST = Path("data/labels/manifest.csv")
LABELS = Path("data/labels/labels.npz")
CURVES = Path("metrics/training")
CPU_PACK_SIZE = 1  # measured: on a 2-core CPU one model at a time with native convolutions is fastest (README)
PRECISIONS = ("float32", "mixed_bfloat16")
TRAINING_CODE = [Path(__file__).with_name(name) for name in ("trainer.py", "packed.py", "cnn.py", "autodiff.py")]


def validate(params):
    for key in ("epochs", "batch_size"):
        if not isinstance(params[key], int) or params[key] < 1:
            raise StageError(f"train.{key} must be a positive integer, got {params[key]!r}")
    if not isinstance(params["learning_rate"], (int, float)) or params["learning_rate"] <= 0:
        raise StageError(f"train.learning_rate must be a positive number, got {params['learning_rate']!r}")
    pack = params["pack_size"]
    if pack != "auto" and (not isinstance(pack, int) or pack < 1):
        raise StageError(f"train.pack_size must be 'auto' or a positive integer, got {pack!r}")
    if params["precision"] not in PRECISIONS:
        raise StageError(f"train.precision must be one of {', '.join(PRECISIONS)}, got {params['precision']!r}")


def choose_pack_size(setting, n_models):
    """`auto`: one model at a time on a CPU, else as many copies as the accelerator's memory holds."""
    if setting != "auto":
        return min(setting, n_models)
    from stages.device import accelerator_pack_size

    size = accelerator_pack_size()
    return min(size or CPU_PACK_SIZE, n_models)


def plan_packs(manifest, pack_size):
    """Model ids in packs of `pack_size`, trial-major: a pack holds one trial of every condition first."""
    order = manifest.sort_values(["trial", "model_id"], kind="stable").model_id.to_numpy()
    return [order[i : i + pack_size] for i in range(0, len(order), pack_size)]


def fingerprint(params, seeds, labels):
    """What a pack's weights depend on: the training code, params (not pack size), seeds and label sets."""
    digest = hashlib.sha256(json.dumps({k: v for k, v in params.items() if k != "pack_size"}, sort_keys=True).encode())
    for source in TRAINING_CODE:
        digest.update(source.read_bytes())
    digest.update(np.ascontiguousarray(seeds, np.int64).tobytes())
    digest.update(np.ascontiguousarray(labels).tobytes())
    return digest.hexdigest()


def finished(path, model_ids, print_):
    """True if the pack file exists and holds these models trained with the current fingerprint."""
    if not path.exists():
        return False
    with np.load(path) as pack:
        return np.array_equal(pack["model_ids"], model_ids) and str(pack["fingerprint"]) == print_


def log_curves(manifest, history):
    """Mean training loss and accuracy per epoch of clean and swap models, through dvclive."""
    from dvclive import Live

    remove(CURVES)
    with Live(dir=str(CURVES), dvcyaml=None, save_dvc_exp=False, report=None) as live:
        for epoch in range(history.shape[1]):
            for kind in ("clean", "swap"):
                rows = history[(manifest.kind == kind).to_numpy(), epoch]
                if len(rows):
                    live.log_metric(f"{kind}/loss", float(rows[:, 0].mean()))
                    live.log_metric(f"{kind}/accuracy", float(rows[:, 1].mean()))
            live.next_step()


def train_pack(trainer, index, ids, labels, images, seeds, params, bar):
    """Train the models `ids` from their seeded starting weights; a NaN loss becomes an error naming them."""
    weights = [np.stack(w) for w in zip(*(initial_weights(seeds[m]) for m in ids))]
    try:
        return trainer.train(weights, labels[ids], images, seeds[ids], params["seed"], params["epochs"],
                             on_step=lambda: bar.update(len(ids)))
    except FloatingPointError as error:
        models = ", ".join(map(str, ids[:8])) + (", ..." if len(ids) > 8 else "")
        raise StageError(f"loss became NaN or infinite in pack {index} (models {models}) at epoch "
                         f"{error.args[0] + 1}: lower train.learning_rate or use precision float32")


def load_inputs():
    for path in (DATA, MANIFEST, LABELS):
        require(path, "corrupt")
    manifest = pd.read_csv(MANIFEST, keep_default_na=False)
    with np.load(LABELS) as labels, np.load(DATA) as data:
        return manifest, labels["labels"], data["x_train"]


def main():
    params = load_params("train")
    validate(params)
    use_backend(params["backend"])
    import keras

    from stages.trainer import PackTrainer

    keras.config.set_dtype_policy(params["precision"])
    manifest, labels, x_train = load_inputs()
    pack_size = choose_pack_size(params["pack_size"], len(manifest))
    packs = plan_packs(manifest, pack_size)
    seeds = manifest.seed.to_numpy()
    paths = [MODELS_DIR / f"pack_{i:05d}.npz" for i in range(len(packs))]
    for stale in set(map(Path, pack_files())) - set(paths):
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
            weights, history = train_pack(trainers[len(ids)], i, ids, labels, images, seeds, params, bar)
            arrays = {f"w{j}": w for j, w in enumerate(weights)}
            writes.append(writer.submit(save_npz, paths[i], model_ids=ids, fingerprint=prints[i], history=history,
                                        **arrays))
        for write in writes:
            write.result()  # raises a failed write's error here
    history = np.zeros((len(manifest), params["epochs"], 2), np.float32)
    for path in paths:
        with np.load(path) as pack:
            history[pack["model_ids"]] = pack["history"]
    log_curves(manifest, history)


if __name__ == "__main__":
    run_stage(main, outputs=[CURVES])
