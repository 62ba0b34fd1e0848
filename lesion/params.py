"""params.yaml's schema, declared once per section, and the one function that checks it (nanoGPT's one place).

Every stage reads its sections through `load`, so a missing, unknown or mistyped key, or a file that is not YAML,
ends in one `error:` line naming the key and what it must hold. Booleans are never numbers (YAML's `true` is not
1). The README's params table is `markdown_table()` (a test holds the two together).
"""

from pathlib import Path

import yaml

from lesion.data.datasets import DATASETS
from lesion.errors import ParamsError
from lesion.model.networks import MODELS

PARAMS_FILE = Path("params.yaml")


def is_integer(value):
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Integer:
    def __init__(self, low=0, high=None):
        self.low, self.high = low, high
        self.expected = (f"an integer from {low} to {high}" if high is not None else f"an integer of at least {low}")

    def accepts(self, value):
        return is_integer(value) and value >= self.low and (self.high is None or value <= self.high)


class Number:
    """A number in an interval; `open_low`/`open_high` exclude the ends."""

    def __init__(self, low=None, high=None, open_low=False, open_high=False):
        self.low, self.high, self.open_low, self.open_high = low, high, open_low, open_high
        if high is None:
            self.expected = f"a number {'>' if open_low else '>='} {low:g}"
        else:
            self.expected = f"a number in {'(' if open_low else '['}{low:g}, {high:g}{')' if open_high else ']'}"

    def accepts(self, value):
        if not is_number(value):
            return False
        above = value > self.low if self.open_low else value >= self.low
        below = self.high is None or (value < self.high if self.open_high else value <= self.high)
        return above and below


class Boolean:
    expected = "true or false"

    def accepts(self, value):
        return isinstance(value, bool)


class Text:
    expected = "a non-empty string"

    def accepts(self, value):
        return isinstance(value, str) and value.strip() != ""


class Choice:
    def __init__(self, *options):
        self.options = options
        self.expected = "one of " + ", ".join(options)

    def accepts(self, value):
        return value in self.options


class OptionalText:
    """Empty (YAML null: the default) or a non-empty string."""

    def __init__(self, empty_means):
        self.expected = f"empty ({empty_means}) or a non-empty string"

    def accepts(self, value):
        return value is None or Text().accepts(value)


class AutoOr:
    """The word 'auto' or a value of `rule`."""

    def __init__(self, rule):
        self.rule, self.expected = rule, f"'auto' or {rule.expected}"

    def accepts(self, value):
        return value == "auto" or self.rule.accepts(value)


class AllOr:
    """The word 'all' or a value of `rule`."""

    def __init__(self, rule):
        self.rule, self.expected = rule, f"'all' or {rule.expected}"

    def accepts(self, value):
        return value == "all" or self.rule.accepts(value)


def is_class_name(value):
    """A class name as YAML reads it: a string, or an integer for a digit class (MNIST's 3 is the class '3')."""
    return isinstance(value, str) or is_integer(value)


def is_pair_list(value):
    return isinstance(value, list) and all(isinstance(p, list) and len(p) == 2 and all(map(is_class_name, p))
                                           for p in value)


class ClassList:
    """A list of at least two class names (checked against the dataset where it is read, lesion.data.labels)."""

    expected = "a list of at least two class names"

    def accepts(self, value):
        return isinstance(value, list) and len(value) >= 2 and all(map(is_class_name, value))


class Pairs:
    """A list of [class_a, class_b] pairs of class names, or also 'all' and {sample: N} (N of all pairs, drawn by
    corrupt.seed) for a study's pairs (`of_study`); names and N are checked against the dataset where it is read
    (lesion.data.labels)."""

    def __init__(self, of_study):
        self.of_study = of_study
        pairs = "a list of [class_a, class_b] pairs"
        self.expected = f"'all', {{sample: N}} with N >= 1 or {pairs}" if of_study else pairs

    def accepts(self, value):
        if self.of_study and (value == "all" or (isinstance(value, dict) and set(value) == {"sample"}
                                                 and is_integer(value["sample"]) and value["sample"] >= 1)):
            return True
        return is_pair_list(value) and (len(value) > 0 or not self.of_study)  # a study needs a pair


class Interval:
    expected = "[low, high] with 0 < low <= high"

    def accepts(self, value):
        return isinstance(value, list) and len(value) == 2 and all(map(is_number, value)) and 0 < value[0] <= value[1]


class Schedule:
    """train.schedule: the epochs [corrupt_from, corrupt_until) in which swap models see their corrupted labels
    (corrupt_until empty, i.e. null: to the end); checked against train.epochs where the models train
    (lesion.packs)."""

    expected = "a mapping {corrupt_from: an integer >= 0, corrupt_until: empty (to the end) or an integer > corrupt_from}"

    def accepts(self, value):
        if not isinstance(value, dict) or set(value) != {"corrupt_from", "corrupt_until"}:
            return False
        start, until = value["corrupt_from"], value["corrupt_until"]
        return is_integer(start) and start >= 0 and (until is None or (is_integer(until) and until > start))


# section -> key -> (rule, meaning). The order is params.yaml's.
SCHEMA = {
    "data": {
        "dataset": (Choice(*DATASETS), "the images and classes: data/<dataset>.npz"),
        "url": (OptionalText("the dataset's official location"),
                "a mirror: http(s) URL, file:// URL or local path (of the archive, or for MNIST and Fashion-MNIST "
                "of the folder of their four files)"),
        "verify": (Boolean(), "check every downloaded file's md5 against the official release"),
    },
    "corrupt": {
        "trials": (Integer(2), "label sets (models) per pair; the statistics need two"),
        "clean_trials": (Integer(2), "clean baseline models"),
        "fraction": (Number(0, 1, open_low=True), "share of each class of a pair relabeled as the other"),
        "seed": (Integer(0), "base of every model's seed"),
        "classes": (AllOr(ClassList()), "the classes pairs are made of ('all' or a list); every class is still "
                                        "trained and tested"),
        "pairs": (Pairs(of_study=True), "the swapped pairs: 'all' unordered pairs of corrupt.classes (45 of "
                                         "CIFAR-10's 10), {sample: N} N of them drawn by corrupt.seed (a larger N "
                                         "keeps the smaller's), or a list"),
    },
    "train": {
        "model": (Choice(*MODELS), "the network: tutorial_cnn (the paper's), wide_cnn (its channels times "
                                   "train.width) or top_down (coarse-to-fine, multi-resolution)"),
        "width": (Number(0, open_low=True), "wide_cnn's channel multiplier (the other models ignore it)"),
        "backend": (Choice("auto", "tensorflow", "jax", "torch"),
                    "Keras backend (only speed differs): auto = jax on a GPU, tensorflow on a CPU"),
        "device": (Choice("auto", "gpu", "cpu"),
                   "auto = the GPU(s) where the machine has one; gpu = stop without one; cpu = never a GPU"),
        "executor": (Choice("local", "ray"),
                     "local = this machine's devices; ray = one Ray task per pack (RAY_ADDRESS's cluster or a local one)"),
        "epochs": (Integer(1), "passes over the training set"),
        "batch_size": (Integer(1), "images per step and model"),
        "learning_rate": (Number(0, open_low=True), "Adam's learning rate"),
        "pack_size": (AutoOr(Integer(1)), "copies per compiled step: auto = 1 on a CPU, what the measured GPU memory holds"),
        "precision": (Choice("float32", "mixed_bfloat16"), "compute precision (weights stay float32)"),
        "kernels": (Choice("xla", "pallas"),
                    "conv1 and conv2 as XLA ops, or as fused Pallas kernels (jax on one device; GPU speed unmeasured)"),
        "seed": (Integer(0), "base of every model's minibatch order"),
        "eval_every": (Integer(0), "evaluate every model on the test set after every n-th epoch and the last "
                                   "(data/eval/per_class_epochs.csv); 0 = never during training"),
        "schedule": (Schedule(), "epochs [corrupt_from, corrupt_until) with corrupted labels, true labels in the "
                                 "others (empty: to the end)"),
    },
    "evaluate": {
        "top_images": (Integer(0, 64), "most confident test images kept per model and confusion cell "
                                       "(data/eval/cells.npz; the report shows them)"),
    },
    "stats": {
        "alpha": (Number(0, 1, open_low=True, open_high=True), "false discovery rate of a significant effect"),
        "bootstrap": (Integer(1), "bootstrap resamples behind each Hedges' g interval"),
        "null_draws": (Integer(100), "draws of the lesion model's coefficients behind each specific effect's SE"),
        "permutations": (Integer(1), "shuffles of the conditions behind the omnibus p and the KL null"),
        "seed": (Integer(0), "seed of the bootstrap, the draws and the permutations"),
    },
    "weights": {
        "folds": (Integer(2), "cross-validation folds of the weight decoders (at most the trials per pair)"),
        "permutations": (Integer(1), "shuffles of the pairs behind each decoder's permutation baseline"),
        "seed": (Integer(0), "seed of the folds and the shuffles"),
    },
    "plots": {
        "dpi": (Integer(50, 600), "resolution of every figure"),
    },
    "visualize": {
        "trial": (Integer(0), "trial whose models are shown"),
        "steps": (Integer(1), "Adam steps of each optimization"),
        "learning_rate": (Number(0, open_low=True), "input-space Adam's learning rate"),
        "restarts": (Integer(1), "random starts of each Happy/Sad map"),
        "channels": (AllOr(Integer(1)), "channels caricatured per layer: the first n, or all"),
        "parameterization": (Choice("pixel", "fourier"), "image representation of maximized images"),
        "lp_weight": (Number(0), "weight of the L6-norm penalty"),
        "tv_weight": (Number(0), "weight of the total-variation penalty of maximized images"),
        "jitter": (Integer(0), "random shift, in pixels, at every step"),
        "images": (Integer(1), "test images inverted"),
        "dpi": (Integer(20, 600), "resolution of every image"),
        "seed": (Integer(0), "seed of starts, jitter and zoom"),
        "scale": (Interval(), "random zoom range at every step"),
        "pairs": (Pairs(of_study=False), "swapped pairs shown beside the clean model"),
    },
}


def read_file(path=PARAMS_FILE):
    """params.yaml as a mapping of sections; a file that is not YAML, or not a mapping, is one error."""
    try:
        params = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise ParamsError(f"{path} is missing: restore it from the repository (git checkout {path})") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "unreadable"
        raise ParamsError(f"{path} is not valid YAML{where} ({problem}): fix it or restore it from the "
                          "repository") from None
    if not isinstance(params, dict):
        raise ParamsError(f"{path} must be a mapping of sections (data, corrupt, train, ...): restore it from the "
                          "repository")
    return params


def check(section, values, path=PARAMS_FILE):
    """Return `values` (one section) after checking every key of SCHEMA[section] and no other."""
    schema = SCHEMA[section]
    if not isinstance(values, dict):
        raise ParamsError(f"{path}: section '{section}' must be a mapping of keys {', '.join(schema)}")
    for key, (rule, meaning) in schema.items():
        if key not in values:
            raise ParamsError(f"{path} has no {section}.{key}: set it to {rule.expected} ({meaning})")
        if not rule.accepts(values[key]):
            raise ParamsError(f"{section}.{key} must be {rule.expected}, got {values[key]!r}")
    unknown = [key for key in values if key not in schema]
    if unknown:
        raise ParamsError(f"{path} has an unknown key {section}.{unknown[0]}: the {section} section takes "
                          f"{', '.join(schema)}")
    return values


def load(section, path=PARAMS_FILE):
    """One checked section of params.yaml (the file `dvc exp run -S` edits)."""
    params = read_file(path)
    unknown = [name for name in params if name not in SCHEMA]
    if unknown:
        raise ParamsError(f"{path} has an unknown section '{unknown[0]}': its sections are {', '.join(SCHEMA)}")
    if section not in params:
        raise ParamsError(f"{path} has no '{section}' section: restore it from the repository")
    return check(section, params[section], path)


def markdown_table():
    """The README's params table: every key, what it must hold and what it means."""
    lines = ["| param | value | meaning |", "| --- | --- | --- |"]
    for section, keys in SCHEMA.items():
        for key, (rule, meaning) in keys.items():
            lines.append(f"| `{section}.{key}` | {rule.expected} | {meaning} |")
    return "\n".join(lines) + "\n"
