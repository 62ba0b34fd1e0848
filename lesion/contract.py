"""The data contract: every artifact's path, the stage that writes it, its schema, and its reader and writer.

No other module spells a path or a column list of an artifact; stages and library code go through these
helpers, so a format changes in one place. Readers check what later code relies on and fail with one line that
names the stage to rerun.
"""

import glob
import hashlib
import json
import math
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lesion.errors import DamagedPackError, InputError, one_line
from lesion.files import remove, save_csv, save_npz, save_text

DATA_DIR = Path("data")  # data/<data.dataset>.npz: the dataset (`dataset_file`)
LABELS_DIR = Path("data/labels")
MANIFEST = LABELS_DIR / "manifest.csv"
LABELS = LABELS_DIR / "labels.npz"
MODELS_DIR = Path("data/models")
CURVES = Path("metrics/training")
CURVE_TABLES = CURVES / "plots/metrics"  # dvclive's layout: <kind>/<metric>.tsv
TRAIN_RUN = CURVES / "run.json"  # how the models were trained: backend, device, precision, epochs
CURVE_METRICS = ("loss", "accuracy", "test_accuracy")  # history columns: training loss and accuracy, test accuracy
EVAL_DIR = Path("data/eval")
PER_CLASS = EVAL_DIR / "per_class.csv"
CONFUSION = EVAL_DIR / "confusion.npz"
CELLS = EVAL_DIR / "cells.npz"  # every model's confusion counts and each cell's most confident test images
PER_CLASS_EPOCHS = EVAL_DIR / "per_class_epochs.csv"  # per_class.csv after each epoch train.eval_every names
EFFECTS_BY_EPOCH = Path("metrics/effects_by_epoch.csv")
WEIGHT_DECODING = Path("metrics/weight_decoding.json")  # the weights stage's decoders (lesion.decoding)
DECODING = Path("data/weights/decoding.npz")  # its PCA embedding of every model and its decoder's confusion matrix
EVAL_METRICS = Path("metrics/eval.json")
WELCH = Path("metrics/welch.csv")
VS_CLEAN = Path("metrics/vs_clean.csv")
KL = Path("metrics/kl.csv")
LESION_EFFECTS = Path("metrics/lesion_effects.csv")
LESION_ROWS = Path("metrics/lesion_rows.csv")
LESION_INTERACTIONS = Path("metrics/lesion_interactions.csv")
LESION_KL = Path("metrics/lesion_kl.csv")
SUMMARY = Path("metrics/summary.json")
SIGNIFICANT = Path("metrics/significant.md")
FIGURES = Path("plots/figures")
PLOT_DATA = Path("plots/data")
EFFECTS = PLOT_DATA / "effects.csv"
SPECIFIC_EFFECTS = PLOT_DATA / "specific_effects.csv"
CLASS_ACCURACY = PLOT_DATA / "class_accuracy.csv"
REPORT = Path("plots/report.html")
PROVENANCE = Path("metrics/provenance.json")  # what produced the report: params, data checksum, training, code
VIS_MODELS = Path("data/vis/models.npz")  # the visualize stage's models: labels and weights, no model ids
VIS = Path("plots/vis")
VIS_INDEX = VIS / "index.html"  # the visualize stage's own gallery page
VIS_ENTRIES = VIS / "index.json"  # its images: path, heading, caption, model (the report embeds them)

# The stage that writes each artifact (dvc.yaml's outs), named when an input is missing.
WRITER = {
    MANIFEST: "corrupt", LABELS: "corrupt", MODELS_DIR: "train", CURVES: "train",
    PER_CLASS: "evaluate", CONFUSION: "evaluate", CELLS: "evaluate", PER_CLASS_EPOCHS: "evaluate", EFFECTS_BY_EPOCH: "epochs",
    WEIGHT_DECODING: "weights", DECODING: "weights", EVAL_METRICS: "evaluate", WELCH: "stats", VS_CLEAN: "stats",
    KL: "stats", SUMMARY: "stats", SIGNIFICANT: "stats", LESION_EFFECTS: "stats", LESION_ROWS: "stats",
    LESION_INTERACTIONS: "stats", LESION_KL: "stats", FIGURES: "plots", PLOT_DATA: "plots", REPORT: "report",
    PROVENANCE: "plots", VIS_MODELS: "vis_models", VIS: "visualize", VIS_ENTRIES: "visualize",
}

DATASET_ARRAYS = ("x_train", "y_train", "x_test", "y_test", "class_names")
MANIFEST_COLUMNS = ["model_id", "kind", "class_a", "class_b", "trial", "seed"]
PER_CLASS_COLUMNS = ["model_id", "class", "loglik_bits", "accuracy"]
PER_CLASS_EPOCH_COLUMNS = ["model_id", "epoch", "class", "loglik_bits", "accuracy"]
EFFECT_COLUMNS = ["target", "confused", "t", "df", "p", "p_fdr", "p_holm", "g", "g_lo", "g_hi",
                  "mean_a", "mean_b", "n_a", "n_b"]  # welch.csv and vs_clean.csv
KL_COLUMNS = ["target", "confused", "kl_bits", "js_bits"]
LESION_EFFECT_COLUMNS = ["target", "confused"] + [
    f"{family}_{field}" for family, fields in (
        ("effect", ("bits", "se", "lo", "hi", "t", "df", "p", "p_fdr", "p_holm")),
        ("specific", ("bits", "se", "lo", "hi", "t", "df", "p", "p_fdr", "p_holm")),
        ("contrast", ("bits", "se", "t", "p", "p_fdr", "p_holm")))
    for field in fields] + ["n_lesioned", "inference"]
LESION_ROW_COLUMNS = ["target", "n_clean", "n_swap", "n_models", "n_indicators", "n_identified", "n_cells",
                      "clean_mean", "clean_se", "omnibus_F", "omnibus_df_num", "omnibus_df_den", "omnibus_p",
                      "omnibus_p_perm", "lof_F", "lof_df_num", "lof_df_den", "lof_p"]
INTERACTION_COLUMNS = ["target", "class_a", "class_b", "interaction_bits", "se", "t", "df", "p", "p_fdr"]
LESION_KL_COLUMNS = ["target", "confused", "kl_bits", "kl_null_mean", "kl_excess", "signed_binary_kl_bits"]
# The columns of each stats table, in the order it is written.
# effects_by_epoch.csv: per epoch (counted from 1) and (target, confused), both families of the lesion model with
# their 95% intervals and p adjusted within the epoch (lesion.stats.by_epoch).
EFFECTS_BY_EPOCH_COLUMNS = ["epoch", "target", "confused", "n_lesioned", "specific_bits", "specific_lo",
                            "specific_hi", "specific_p_fdr", "effect_bits", "effect_lo", "effect_hi", "effect_p_fdr"]
TABLE_COLUMNS = {WELCH: EFFECT_COLUMNS, VS_CLEAN: EFFECT_COLUMNS, KL: KL_COLUMNS, LESION_EFFECTS: LESION_EFFECT_COLUMNS,
                 LESION_ROWS: LESION_ROW_COLUMNS, LESION_INTERACTIONS: INTERACTION_COLUMNS,
                 LESION_KL: LESION_KL_COLUMNS, EFFECTS_BY_EPOCH: EFFECTS_BY_EPOCH_COLUMNS}
SIX_DIGITS = "%.6g"  # floats of the git-tracked tables: short, stable diffs


def writer(path):
    """The stage that writes `path` (a dataset file is the download stage's)."""
    path = Path(path)
    return "download" if path.parent == DATA_DIR and path.suffix == ".npz" else WRITER[path]


def require(path):
    """Fail with one line naming a missing input and the stage that writes it."""
    if not Path(path).exists():
        raise InputError(f"{path} is missing: run the earlier stages first (dvc repro {writer(path)})")


def require_columns(path, table, columns):
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise InputError(f"{path} lacks columns {missing}: rerun dvc repro {writer(path)}")


# The dataset data/<data.dataset>.npz: images (N, H, W, C) uint8, labels (N,) uint8, class names in label order.


def dataset_file(name):
    return DATA_DIR / f"{name}.npz"


def write_dataset(arrays, path):
    save_npz(path, **{key: arrays[key] for key in DATASET_ARRAYS})


def read_dataset(name, *keys):
    """The named arrays of dataset `name` (data.dataset; class names as a list of str)."""
    path = dataset_file(name)
    require(path)
    with np.load(path) as data:
        arrays = {key: data[key] for key in keys}
    if "class_names" in arrays:
        arrays["class_names"] = [str(name) for name in arrays["class_names"]]
    return arrays


# The label sets: manifest.csv (one row per model, model_id 0..n-1; class_a/class_b empty for clean models) and
# labels.npz, each model's label set as its changes to the dataset's training labels: `base` (n_train,) uint8, the
# dataset's labels; `offsets` (n_models + 1,) int64, model m's changes being entries offsets[m]:offsets[m + 1] of
# `indices` (int32, the relabeled images, ascending) and `values` (uint8, their labels). A swap model changes a
# share of two classes, so a 250,000-model CIFAR-100 study stores under 1 GB instead of 12.5 GB of label rows.
LABEL_ARRAYS = ("base", "offsets", "indices", "values")


@dataclass(frozen=True, eq=False)
class LabelSets:
    """Every model's training labels, stored as `base` and each model's changes (labels.npz's arrays)."""

    base: np.ndarray
    offsets: np.ndarray
    indices: np.ndarray
    values: np.ndarray

    @classmethod
    def from_changes(cls, base, changes):
        """From each model's (indices, values), in model order."""
        changes = [(np.asarray(i, np.int64), np.asarray(v, np.uint8)) for i, v in changes]
        order = [np.argsort(i, kind="stable") for i, _ in changes]
        offsets = np.concatenate([[0], np.cumsum([len(i) for i, _ in changes], dtype=np.int64)])
        indices = np.concatenate([i[o] for (i, _), o in zip(changes, order)] or [[]]).astype(np.int32)
        values = np.concatenate([v[o] for (_, v), o in zip(changes, order)] or [[]]).astype(np.uint8)
        return cls(np.asarray(base, np.uint8), offsets, indices, values)

    @classmethod
    def from_rows(cls, rows, base):
        """From full label rows (models x n_train): each row's differences from `base`."""
        rows = np.asarray(rows)
        changed = rows != base
        return cls.from_changes(base, [(np.flatnonzero(mask), row[mask]) for row, mask in zip(rows, changed)])

    def __len__(self):
        return len(self.offsets) - 1

    def arrays(self):
        """labels.npz's arrays by name."""
        return {name: getattr(self, name) for name in LABEL_ARRAYS}

    @property
    def n_images(self):
        return len(self.base)

    def max_label(self):
        return int(max(self.base.max(initial=0), self.values.max(initial=0)))

    def row(self, model):
        """Model `model`'s label of every training image."""
        labels = self.base.copy()
        span = slice(self.offsets[model], self.offsets[model + 1])
        labels[self.indices[span]] = self.values[span]
        return labels

    def rows(self, models=None):
        """(len(models), n_train) uint8: the label rows of `models` (default: every model), in that order."""
        models = range(len(self)) if models is None else models
        return np.stack([self.row(m) for m in models]) if len(models) else np.empty((0, self.n_images), np.uint8)


def write_labels(manifest, labels):
    """The manifest and the LabelSets `labels`."""
    save_csv(MANIFEST, manifest[MANIFEST_COLUMNS])
    save_npz(LABELS, **labels.arrays())


# Columns that hold class names, read as text: MNIST's classes are the digits "0".."9", which pandas would read as
# numbers in one table and as text in another (a manifest with empty cells), so no lesion would match its class.
NAME_COLUMNS = {name: str for name in ("class", "class_a", "class_b", "target", "confused")}


def read_manifest():
    """The manifest, clean rows' empty class names kept as "" (not NaN)."""
    require(MANIFEST)
    manifest = pd.read_csv(MANIFEST, keep_default_na=False, dtype=NAME_COLUMNS)
    require_columns(MANIFEST, manifest, MANIFEST_COLUMNS)
    if list(manifest.model_id) != list(range(len(manifest))):
        raise InputError(f"{MANIFEST} model_id must be 0..n-1 in order: rerun dvc repro corrupt")
    return manifest


def read_labels():
    """The LabelSets of labels.npz, checked to be whole (a label set of another version or a damaged file is an
    error that names the stage to rerun)."""
    require(LABELS)
    with np.load(LABELS) as stored:
        if set(stored.files) != set(LABEL_ARRAYS):
            raise InputError(f"{LABELS} holds {sorted(stored.files)}, not the label sets' {list(LABEL_ARRAYS)}: rerun "
                             "dvc repro corrupt")
        labels = LabelSets(*(stored[name] for name in LABEL_ARRAYS))
    kinds = [(labels.base, np.uint8), (labels.offsets, np.int64), (labels.indices, np.int32), (labels.values, np.uint8)]
    if any(array.ndim != 1 or array.dtype != dtype for array, dtype in kinds):
        raise InputError(f"{LABELS} holds arrays of other shapes or types than the label sets' (1-D base uint8, "
                         "offsets int64, indices int32, values uint8): rerun dvc repro corrupt")
    spans = np.diff(labels.offsets)
    if (len(labels.offsets) < 1 or labels.offsets[0] != 0 or (spans < 0).any()
            or labels.offsets[-1] != len(labels.indices) or len(labels.indices) != len(labels.values)
            or (len(labels.indices) and not 0 <= labels.indices.min() <= labels.indices.max() < labels.n_images)):
        raise InputError(f"{LABELS} is inconsistent (offsets, indices and values do not fit together): rerun dvc "
                         "repro corrupt")
    return labels


# Trained packs: data/models/pack_<index>.npz, one per pack the train stage trained together. Each is a plain numpy
# .npz archive (np.load reads it) holding, for its K models:
#   model_ids (K,) int      the models' ids in data/labels/manifest.csv when the pack was last written
#   keys      (K,) str      each model's identity (lesion.model.model_keys: code, train params, network, images,
#             seed, label set)
#   history   (K, epochs, 3) float32, per epoch: mean training loss, training accuracy, test accuracy (NaN in
#             epochs not evaluated)
#   evals     (K, E, 2, classes) float32: per-class loglik_bits and accuracy on the test set after each of the E
#             epochs of eval_epochs (train.eval_every), the evaluate stage's computation
#   eval_epochs (E,) int32  those epochs, counted from 1
#   w0..wN    the weights, stacked over the K models, in the network's weight_specs order
#   network   str           the network they are weights of (lesion.model.networks.Network.to_dict as JSON:
#             model, image_shape, n_classes, width)
#   checksum  sha256 of all of the above
# `load_model(model_id)` (lesion.models) turns one model back into a plain Keras model.


@dataclass
class Pack:
    model_ids: np.ndarray
    keys: np.ndarray
    history: np.ndarray
    weights: list
    evals: np.ndarray = None  # None: no epoch evaluated
    eval_epochs: np.ndarray = None
    network: dict = None  # lesion.model.networks.Network.to_dict()

    def __post_init__(self):
        if self.evals is None:
            self.evals = np.zeros((len(self.model_ids), 0, 2, 0), np.float32)
            self.eval_epochs = np.zeros(0, np.int32)

    def subset(self, copies, model_ids):
        """The pack of these copies only, renamed to `model_ids`."""
        return Pack(np.asarray(model_ids), self.keys[copies], self.history[copies], [w[copies] for w in self.weights],
                    self.evals[copies], self.eval_epochs, self.network)


PACK_READ_ERRORS = (zipfile.BadZipFile, EOFError, ValueError, OSError, KeyError, zlib.error)


def pack_path(index):
    return MODELS_DIR / f"pack_{index:05d}.npz"


def pack_files(models_dir=MODELS_DIR):
    return [Path(path) for path in sorted(glob.glob(str(Path(models_dir) / "pack_*.npz")))]


def pack_checksum(pack):
    """sha256 of everything a pack holds, stored with it: a file that reads but changed is caught too."""
    digest = hashlib.sha256()
    for array in [pack.model_ids, pack.keys, pack.history, pack.evals, pack.eval_epochs, *pack.weights]:
        array = np.ascontiguousarray(array)
        digest.update(str((array.dtype.str, array.shape)).encode() + array.tobytes())
    digest.update(network_text(pack.network).encode())
    return digest.hexdigest()


def network_text(network):
    return json.dumps(network, sort_keys=True)


def write_pack(path, pack):
    weights = {f"w{i}": w for i, w in enumerate(pack.weights)}
    save_npz(path, model_ids=pack.model_ids, keys=pack.keys, history=pack.history, evals=pack.evals,
             eval_epochs=pack.eval_epochs, network=np.array(network_text(pack.network)),
             checksum=pack_checksum(pack), **weights)


def read_pack(path):
    """One pack file, read completely and checked against its stored checksum; DamagedPackError otherwise."""
    try:
        with np.load(path) as data:
            count = sum(name.startswith("w") for name in data.files)
            pack = Pack(data["model_ids"], data["keys"], data["history"], [data[f"w{i}"] for i in range(count)],
                        data["evals"], data["eval_epochs"], json.loads(str(data["network"])))
            stored = str(data["checksum"])
    except PACK_READ_ERRORS as error:
        raise DamagedPackError(path, one_line(error)) from None
    if stored != pack_checksum(pack):
        raise DamagedPackError(path, "its contents do not match the checksum stored with them")
    return pack


def read_pack_ids(path):
    """The model ids of a pack file (only that member is read)."""
    try:
        with np.load(path) as data:
            return data["model_ids"]
    except PACK_READ_ERRORS as error:
        raise DamagedPackError(path, one_line(error)) from None


def check_packs(manifest):
    """Every model of the manifest in exactly one pack file, or one error naming the models that are not."""
    ids = [read_pack_ids(path) for path in pack_files()]
    counts = np.bincount(np.concatenate(ids + [np.zeros(0, int)]).astype(int), minlength=len(manifest))
    missing, doubled = np.flatnonzero(counts[: len(manifest)] == 0), np.flatnonzero(counts > 1)
    if len(missing):
        listed = ", ".join(map(str, missing[:8])) + (", ..." if len(missing) > 8 else "")
        raise InputError(f"{len(missing)} models of {MANIFEST} are in no pack of {MODELS_DIR} (models {listed}): "
                         "train them first (dvc repro train)")
    if len(doubled) or len(counts) > len(manifest):
        raise InputError(f"{MODELS_DIR} holds models twice or models the manifest lacks: rerun dvc repro train")


def read_weights(model_ids):
    """Trained weights of `model_ids`, stacked over them in that order, read from the packs that hold them.

    Returns (model_ids, weights, network): weights[i] has shape (len(model_ids),) + the network's weight_specs[i]
    shape; network is the packs' Network.to_dict().
    """
    wanted = np.asarray(model_ids)
    packs = [read_pack(path) for path in pack_files() if np.isin(read_pack_ids(path), wanted).any()]
    ids = np.concatenate([pack.model_ids for pack in packs]) if packs else np.zeros(0, int)
    position = {model_id: i for i, model_id in enumerate(ids)}
    missing = [int(m) for m in wanted if m not in position]
    if missing:
        raise InputError(f"models {missing[:5]} are not in {MODELS_DIR}: train them first (dvc repro train)")
    order = [position[m] for m in wanted]
    network = study_network(packs)
    return wanted, [np.concatenate(stack)[order] for stack in zip(*(pack.weights for pack in packs))], network


def study_network(packs):
    """The network every one of `packs` holds; an error when they disagree (a study trains one network)."""
    networks = {network_text(pack.network) for pack in packs}
    if len(networks) > 1:
        raise InputError(f"{MODELS_DIR} holds packs of different networks ({', '.join(sorted(networks))}): rerun "
                         "dvc repro train")
    return json.loads(networks.pop()) if networks else None


# The shown models: data/vis/models.npz holds `labels` (what the gallery calls each model: "clean",
# "automobile/truck swapped"), `network` (as a pack's) and the weights w0..wN stacked over those models in that
# order. No model ids: ids shift when trials are added, and the visualize stage must rerun only when the shown
# models really change.


def write_vis_models(labels, weights, network):
    save_npz(VIS_MODELS, labels=np.array(labels, dtype=str), network=np.array(network_text(network)),
             **{f"w{i}": w for i, w in enumerate(weights)})


def read_vis_models():
    """(labels, weights, network) of the shown models: weights[i] has shape (len(labels),) + the network's
    weight_specs[i] shape, network a lesion.model.networks.Network."""
    from lesion.model.networks import Network

    require(VIS_MODELS)
    try:
        with np.load(VIS_MODELS) as data:
            labels = [str(label) for label in data["labels"]]
            network = Network.from_dict(json.loads(str(data["network"])))
            weights = [data[f"w{i}"] for i in range(len(network.weight_specs)) if f"w{i}" in data.files]
    except (KeyError, ValueError, TypeError) as error:
        raise InputError(f"{VIS_MODELS} is not the vis_models stage's ({one_line(error)}): rerun dvc repro "
                         "vis_models") from None
    shapes = [tuple(w.shape) for w in weights]
    expected = [(len(labels),) + shape for _, _, shape in network.weight_specs]
    if not labels or shapes != expected:
        raise InputError(f"{VIS_MODELS} holds weights of shapes {shapes} for {len(labels)} models, not the "
                         f"{network.model}'s: rerun dvc repro vis_models")
    return labels, weights, network


# Evaluation: per_class.csv (one row per model and class, models in id order, classes in the dataset's order),
# per_class_epochs.csv (the same after each epoch the train stage evaluated, rows by model, epoch, class; the
# epoch counted from 1, so the last is the trained model of per_class.csv), confusion.npz (`mean_prob`:
# n_models x classes x classes, [m, i, j] the mean probability of class i over test images of class j) and
# cells.npz: `count` (n_models x classes x classes, [m, t, p] the test images of true class t that model m predicts
# as p), `top_index` (n_models x classes x classes x evaluate.top_images: the indices into the dataset's x_test of
# that cell's most confident images, highest probability of p first, -1 past the cell's count) and `top_prob`
# (their probabilities of p, 0 past the count).
CELL_ARRAYS = ("count", "top_index", "top_prob")


def write_evaluation(per_class, mean_prob, cells, per_class_epochs):
    save_csv(PER_CLASS, per_class[PER_CLASS_COLUMNS])
    save_csv(PER_CLASS_EPOCHS, per_class_epochs[PER_CLASS_EPOCH_COLUMNS])
    save_npz(CONFUSION, mean_prob=mean_prob)
    save_npz(CELLS, **{name: cells[name] for name in CELL_ARRAYS})


def read_cells(n_models, n_classes):
    """cells.npz's arrays (CELL_ARRAYS) by name, checked against the study's models and classes."""
    require(CELLS)
    with np.load(CELLS) as data:
        missing = [name for name in CELL_ARRAYS if name not in data.files]
        if missing:
            raise InputError(f"{CELLS} has no {missing[0]} array: rerun dvc repro evaluate")
        cells = {name: data[name] for name in CELL_ARRAYS}
    shape = (n_models, n_classes, n_classes)
    if (cells["count"].shape != shape or cells["top_index"].shape[:3] != shape
            or cells["top_prob"].shape != cells["top_index"].shape):
        raise InputError(f"{CELLS} has arrays of shapes {[a.shape for a in cells.values()]} for {n_models} models "
                         f"of {n_classes} classes: rerun dvc repro evaluate")
    return cells


def read_class_table(path, columns):
    """per_class.csv or per_class_epochs.csv, every loglik_bits and accuracy a finite number."""
    require(path)
    table = pd.read_csv(path, dtype=NAME_COLUMNS)
    require_columns(path, table, columns)
    for column in ("loglik_bits", "accuracy"):
        values = pd.to_numeric(table[column], errors="coerce")
        bad = ~np.isfinite(values)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            shown = "an empty cell" if pd.isna(table[column].iloc[row]) else repr(table[column].iloc[row])
            raise InputError(f"{path} has {column} {shown} on line {row + 2}, not a finite number: rerun dvc "
                             "repro evaluate")
        table[column] = values
    return table


def read_per_class():
    return read_class_table(PER_CLASS, PER_CLASS_COLUMNS)


def read_per_class_epochs():
    return read_class_table(PER_CLASS_EPOCHS, PER_CLASS_EPOCH_COLUMNS)


def class_order(per_class):
    """The classes in the dataset's order: per_class.csv lists each model's classes in that order."""
    return list(dict.fromkeys(per_class["class"]))


def read_mean_prob(n_models, n_classes):
    require(CONFUSION)
    with np.load(CONFUSION) as confusion:
        mean_prob = confusion["mean_prob"]
    if mean_prob.shape != (n_models, n_classes, n_classes):
        raise InputError(f"{CONFUSION} mean_prob has shape {mean_prob.shape}, expected "
                         f"{(n_models, n_classes, n_classes)}: rerun dvc repro evaluate")
    return mean_prob


# The weights stage's arrays: decoding.npz holds `conditions` (every model's: "clean" or "class_a/class_b", in id
# order), `embedding` (models x 2: the first two principal components of its weight features), `explained_variance`
# (2,), `pairs` (the decoded pairs, sorted) and `confusion` (pairs x pairs: true pair by row, decoded by column).


def write_decoding(arrays):
    save_npz(DECODING, **arrays)


def read_decoding():
    require(DECODING)
    with np.load(DECODING) as data:
        arrays = {key: data[key] for key in data.files}
    if arrays["embedding"].shape != (len(arrays["conditions"]), 2):
        raise InputError(f"{DECODING} does not match its own conditions: rerun dvc repro weights")
    return arrays


# Metrics: small JSON objects (eval.json, summary.json) and the statistics' long tables.


def read_figures():
    """plots/figures' PNGs by file name, in name order."""
    require(FIGURES)
    return {path.name: path.read_bytes() for path in sorted(FIGURES.glob("*.png"))}


def read_gallery():
    """The visualize stage's entries (VIS_ENTRIES: path, heading, caption, model), each with its PNG's bytes."""
    require(VIS_ENTRIES)
    try:
        entries = json.loads(VIS_ENTRIES.read_text())
        for entry in entries:
            entry["png"] = (VIS / entry["path"]).read_bytes()
    except (ValueError, KeyError, TypeError, OSError) as error:
        raise InputError(f"{VIS_ENTRIES} does not list the gallery's images ({error}): rerun dvc repro "
                         "visualize") from None
    return entries


def write_metrics(path, metrics):
    save_text(path, json.dumps(metrics, indent=2) + "\n")


def read_metrics(path):
    require(path)
    return json.loads(Path(path).read_text())


def write_table(path, table):
    """A git-tracked table of the stats or plots stage: six significant digits, no index, the contract's columns."""
    save_csv(path, table[TABLE_COLUMNS[path]] if path in TABLE_COLUMNS else table, SIX_DIGITS)


def read_effect_table(path):
    """A stats table (welch.csv, lesion_effects.csv, ...); empty cells (untestable effects) read as NaN, never a
    class name."""
    require(path)
    return pd.read_csv(path, keep_default_na=False, na_values=[""], dtype=NAME_COLUMNS)


def write_curves(manifest, history):
    """Per epoch, the mean of each CURVE_METRICS column of `history` over clean and over swap models, through
    dvclive."""
    from dvclive import Live

    remove(CURVES)
    with Live(dir=str(CURVES), dvcyaml=None, save_dvc_exp=False, report=None) as live:
        for epoch in range(history.shape[1]):
            for kind in ("clean", "swap"):
                rows = history[(manifest.kind == kind).to_numpy(), epoch]
                for column, metric in enumerate(CURVE_METRICS):
                    mean = float(rows[:, column].mean()) if len(rows) else math.nan
                    if math.isfinite(mean):  # test accuracy only after the epochs evaluated (train.eval_every)
                        live.log_metric(f"{kind}/{metric}", mean)
            live.next_step()


def read_curves():
    """dvclive's per-epoch TSVs as {(kind, metric): table} (metric one of CURVE_METRICS, the table's columns `step`
    and the metric); empty when the train stage logged none."""
    curves = {}
    for metric in CURVE_METRICS:
        for kind in ("clean", "swap"):
            path = CURVE_TABLES / kind / f"{metric}.tsv"
            if path.exists():
                curves[kind, metric] = pd.read_csv(path, sep="\t")
    return curves


def write_train_run(run):
    """metrics/training/run.json: the train stage's backend, device, precision and epochs, for provenance."""
    write_metrics(TRAIN_RUN, run)


def write_provenance(record):
    """metrics/provenance.json: the plots stage's record of what produced the results (lesion.report.provenance)."""
    save_text(PROVENANCE, json.dumps(record, indent=2, sort_keys=False) + "\n")


def read_provenance():
    require(PROVENANCE)
    return json.loads(PROVENANCE.read_text())


def read_train_run():
    """The train stage's run record, or None when the models were trained before it was kept."""
    return json.loads(TRAIN_RUN.read_text()) if TRAIN_RUN.exists() else None
