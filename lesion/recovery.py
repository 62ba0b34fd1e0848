"""Mistrain, then recover: DVC experiments that differ in train.schedule, side by side.

Each experiment (`dvc exp run -S train.schedule.corrupt_until=N`) keeps its results in git: params.yaml,
metrics/eval.json and metrics/lesion_effects.csv. `collect_runs` lists the workspace, HEAD's commit (the baseline)
and HEAD's experiments with `dvc exp show --json`, and reads those three files at each one's revision with
`dvc.api.read`; `recovery_table` puts them in one row each, and `recovery_figure` draws how the swapped pair and the
strongest specific effects depend on the epoch at which the labels were corrected.

Why `dvc exp show --json` rather than `dvc.api.exp_show()`: the API flattens every cell to text and back to a float,
so a null corrupt_until comes back as the string "None", an integer as a float, and a short sha that reads as a
number (all digits, or digits around one "e": about one in eighteen) as that number. The JSON keeps full
revisions and says which experiments are still queued, running or failed.
"""

import json
import math
import subprocess
import sys
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import dvc.api
import matplotlib.pyplot as plt
import pandas as pd
import yaml
from dvc.exceptions import DvcException, NotDvcRepoError, PathMissingError
from dvc.repo import Repo
from matplotlib.ticker import PercentFormatter

from lesion import contract, params
from lesion.errors import InputError, one_line
from lesion.report.figures import WIDTH

WORKSPACE = "workspace"  # exp show's rev of the working tree, which dvc.api.read reads as rev=None
EVAL_KEYS = ["clean_accuracy", "swap_pair_accuracy", "swap_other_accuracy", "n_models"]
EFFECT_FIELDS = ["specific_bits", "specific_lo", "specific_hi", "specific_p_fdr"]
SHOWN_EFFECTS = 5
RECIPE = ("dvc exp run --queue -S train.schedule.corrupt_until=2; dvc exp run --queue -S "
          "train.schedule.corrupt_until=4; dvc exp run --queue -S train.schedule.corrupt_until=6; dvc queue start")
ACCURACY_LINES = [  # eval.json key, legend label, colour (training.png's: clean C0, swap C1), line style
    ("swap_pair_accuracy", "swap models, their swapped pair", "C1", "-"),
    ("swap_other_accuracy", "swap models, the other classes", "C1", "--"),
    ("clean_accuracy", "clean models, all classes", "C0", ":"),
]
EFFECT_COLOURS = ["C2", "C3", "C4", "C5", "C6"]  # not C0/C1, which mean clean/swap on the left


@dataclass
class Run:
    """The results of one revision (an experiment, the baseline or the workspace) and the schedule behind them."""

    name: str
    rev: str  # full git sha, or WORKSPACE
    corrupt_from: int
    corrupt_until: int | None
    epochs: int
    alpha: float  # stats.alpha, under which its specific_p_fdr counts as significant
    evaluation: dict  # eval.json
    effects: pd.DataFrame  # lesion_effects.csv: target, confused and EFFECT_FIELDS

    @property
    def correction_epoch(self):
        """The epoch (from 0) from which the swap models train on true labels; train.epochs when they never do."""
        return self.epochs if self.corrupt_until is None else min(self.corrupt_until, self.epochs)

    def same_results(self, other):
        """True for the workspace and the experiment `dvc exp run` applied to it: one run, listed twice."""
        return (self.corrupt_from, self.corrupt_until, self.epochs, self.evaluation) == (
            other.corrupt_from, other.corrupt_until, other.epochs, other.evaluation) and self.effects.equals(
            other.effects)


def exp_show(root):
    """`dvc exp show --json` in the project at `root`, run by this interpreter's DVC: one entry for the workspace,
    one for HEAD's commit with HEAD's experiments in its "experiments"."""
    result = subprocess.run([sys.executable, "-m", "dvc", "exp", "show", "--json"], cwd=root, capture_output=True,
                            text=True)
    if result.returncode != 0:
        said = [line.removeprefix("ERROR: ") for line in result.stderr.splitlines() if line.strip()]
        raise InputError(f"dvc exp show failed in {root}: {said[-1] if said else f'exit code {result.returncode}'}")
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError as error:
        raise InputError(f"dvc exp show --json printed no JSON ({one_line(error)}): check the DVC install") from None


def listed(shown):
    """(name, rev, executor state, exp show entry) of the workspace, the baseline and each experiment's tip; the
    state is None but for an experiment of the queue ("queued", "running", "failed" or "success")."""
    for entry in shown:
        yield (WORKSPACE if entry["rev"] == WORKSPACE else entry["name"] or entry["rev"][:7]), entry["rev"], None, entry
        for experiment in entry["experiments"] or []:
            tip = experiment["revs"][0]
            yield tip["name"] or tip["rev"][:7], tip["rev"], (experiment["executor"] or {}).get("state"), tip


def read_at(root, path, rev):
    """A file's text at `rev` (git-tracked or a DVC output), the workspace's from disk (dvc.api.read takes a
    workspace path as relative to the current folder, not to the project); InputError saying why it can't be read."""
    try:
        if rev == WORKSPACE:
            return (Path(root) / path).read_text()
        return dvc.api.read(str(path), repo=str(root), rev=rev)
    except (PathMissingError, FileNotFoundError):
        raise InputError(f"it has no {path}") from None
    except (DvcException, OSError) as error:
        raise InputError(f"cannot read its {path} ({one_line(error)})") from None


def project_root(folder):
    """The DVC project that `folder` is in: its root, where every path of the contract starts."""
    try:
        return Path(Repo.find_root(str(folder)))
    except NotDvcRepoError:
        raise InputError(f"{Path(folder).resolve()} is in no DVC project: run this in the project") from None


def checked_param(settings, section, key):
    """settings[section][key] if lesion.params' schema accepts it; InputError otherwise."""
    rule = params.SCHEMA[section][key][0]
    value = (settings.get(section) or {}).get(key) if isinstance(settings, dict) else None
    if not rule.accepts(value):
        raise InputError(f"its {params.PARAMS_FILE} has {section}.{key} = {value!r}, not {rule.expected}")
    return value


def read_run(root, name, rev, state, entry):
    """The Run of one listed revision; InputError saying why it has no usable results."""
    if state not in (None, "success"):
        raise InputError(f"it is {state}")
    if entry["error"]:
        raise InputError(f"DVC could not collect it ({one_line(entry['error']['msg'])})")
    try:
        settings = yaml.safe_load(read_at(root, params.PARAMS_FILE, rev))
        evaluation = json.loads(read_at(root, contract.EVAL_METRICS, rev))
    except (yaml.YAMLError, json.JSONDecodeError) as error:
        raise InputError(f"a file of it does not parse ({one_line(error)})") from None
    schedule = checked_param(settings, "train", "schedule")
    missing = [key for key in EVAL_KEYS if not isinstance(evaluation, dict) or key not in evaluation]
    if missing:
        raise InputError(f"its {contract.EVAL_METRICS} lacks {missing}")
    effects = pd.read_csv(StringIO(read_at(root, contract.LESION_EFFECTS, rev)), keep_default_na=False,
                          na_values=[""], dtype=contract.NAME_COLUMNS)
    missing = [column for column in ["target", "confused", *EFFECT_FIELDS] if column not in effects.columns]
    if missing:
        raise InputError(f"its {contract.LESION_EFFECTS} lacks columns {missing}")
    return Run(name, rev, schedule["corrupt_from"], schedule["corrupt_until"],
               checked_param(settings, "train", "epochs"), checked_param(settings, "stats", "alpha"),
               {key: evaluation[key] for key in EVAL_KEYS}, effects[["target", "confused", *EFFECT_FIELDS]])


def collect_runs(folder="."):
    """(runs, skipped): a Run for every revision of the DVC project around `folder` that has results (the workspace,
    HEAD's commit, HEAD's experiments), ordered by corrupt_from, correction epoch and name; and "name: why" for each
    one without. The workspace counts only where its results are its own, not those of the experiment `dvc exp run`
    last applied there or of an unchanged checkout."""
    root, runs, skipped = project_root(folder), [], []
    for name, rev, state, entry in listed(exp_show(root)):
        try:
            runs.append(read_run(root, name, rev, state, entry))
        except InputError as error:
            skipped.append(f"{name}: {error}")
    workspace = next((run for run in runs if run.rev == WORKSPACE), None)
    twin = next((run for run in runs if workspace and run is not workspace and run.same_results(workspace)), None)
    if twin:
        runs.remove(workspace)
        skipped.append(f"{WORKSPACE}: the same results as {twin.name}")
    return sorted(runs, key=lambda run: (run.corrupt_from, run.correction_epoch, run.name)), skipped


def recovering(runs):
    """The runs that mistrain from the first epoch, then (perhaps) recover: the figure's."""
    return [run for run in runs if run.corrupt_from == 0]


def require_recovery(runs, skipped):
    """Fail with one line saying what to run unless at least two runs mistrain from epoch 0."""
    count = len(recovering(runs))
    if count < 2:
        why = f"; skipped {'; '.join(skipped)}" if skipped else ""
        raise InputError(f"the recovery figure needs finished runs of at least two schedules that corrupt from epoch "
                         f"0, found {count} ({len(runs)} usable runs in all{why}): queue and run them, e.g. {RECIPE}")


def strongest_effects(runs, count=SHOWN_EFFECTS):
    """(target, confused) of the `count` strongest specific effects of the recovering run with the latest correction
    epoch (the most damaged; the first by name on a tie): significant ones first, then by |specific_bits|."""
    reference = max(recovering(runs), key=lambda run: run.correction_epoch)
    tested = reference.effects.dropna(subset=["specific_bits"])
    ranked = tested.assign(significant=tested.specific_p_fdr < reference.alpha, size=tested.specific_bits.abs())
    ranked = ranked.sort_values(["significant", "size"], ascending=False, kind="stable")
    return list(zip(ranked.target, ranked.confused))[:count]


def effect_column(target, confused, field):
    """The table's column of one effect's field, e.g. "automobile<-truck:specific_bits"."""
    return f"{target}<-{confused}:{field}"


def recovery_table(runs, effects):
    """One row per run, in the runs' order: name, rev, corrupt_from, corrupt_until (empty where null),
    correction_epoch, epochs, alpha and EVAL_KEYS, then each of `effects`' EFFECT_FIELDS as effect_column names them
    (NaN where that run did not estimate it)."""
    rows = []
    for run in runs:
        row = {"name": run.name, "rev": run.rev, "corrupt_from": run.corrupt_from, "corrupt_until": run.corrupt_until,
               "correction_epoch": run.correction_epoch, "epochs": run.epochs, "alpha": run.alpha, **run.evaluation}
        by_pair = run.effects.drop_duplicates(["target", "confused"]).set_index(["target", "confused"])
        for target, confused in effects:
            for field in EFFECT_FIELDS:
                row[effect_column(target, confused, field)] = by_pair[field].get((target, confused), math.nan)
        rows.append(row)
    table = pd.DataFrame(rows)
    return table.astype({"corrupt_until": "Int64"})


def epoch_ticks(ax, shown):
    """Ticks at the correction epochs run, "(never)" under one where some run is never corrected."""
    epochs = sorted(set(shown.correction_epoch))
    never = set(shown.correction_epoch[shown.correction_epoch == shown.epochs])
    ax.set_xticks(epochs, [f"{epoch}\n(never)" if epoch in never else str(epoch) for epoch in epochs])


def recovery_figure(table, effects):
    """"Mistrain, then recover" from recovery_table's rows that corrupt from epoch 0: left, test accuracies; right,
    `effects` (bits, 95% band; filled dots: significant at that run's FDR alpha) against the correction epoch."""
    shown = table[table.corrupt_from == 0].sort_values("correction_epoch", kind="stable")
    epoch = shown.correction_epoch
    fig, (accuracy, lesion) = plt.subplots(1, 2, figsize=(WIDTH, 5.2), sharex=True, layout="constrained")
    for key, label, colour, style in ACCURACY_LINES:
        accuracy.plot(epoch, shown[key], style, marker="o", markersize=4, color=colour, label=label)
    accuracy.yaxis.set_major_formatter(PercentFormatter(1))
    accuracy.set_ylabel("mean test accuracy")
    accuracy.set_title("Test accuracy, mean over models")
    for (target, confused), colour in zip(effects, EFFECT_COLOURS):
        bits, lo, hi, p = (shown[effect_column(target, confused, field)] for field in EFFECT_FIELDS)
        significant = (p < shown.alpha).to_numpy()
        lesion.fill_between(epoch, lo, hi, color=colour, alpha=0.15, linewidth=0)
        lesion.plot(epoch, bits, color=colour, label=f"{target} \u2190 {confused}")
        lesion.plot(epoch[significant], bits[significant], "o", color=colour, markersize=5)
        lesion.plot(epoch[~significant], bits[~significant], "o", color="white", markeredgecolor=colour, markersize=5)
    lesion.axhline(0, color="black", linewidth=0.8)
    lesion.set_ylabel("specific effect (bits; > 0: learning confused helps)")
    lesion.set_title("Strongest specific effects, 95% intervals")
    legends = [(accuracy, None, 1)]
    if effects:
        legends.append((lesion, "target \u2190 confused (filled dot: significant)", 3))
    else:  # e.g. disjoint pairs: say why the panel is empty rather than leave a bare frame
        lesion.text(0.5, 0.5, "The runs' design identifies no specific effect:\nadd pairs that share a class "
                    "(see Power in the report)", transform=lesion.transAxes, ha="center", va="center", wrap=True)
    for ax in (accuracy, lesion):
        epoch_ticks(ax, shown)
        ax.set_xlabel("epoch at which the swapped labels were corrected")
    for ax, title, columns in legends:
        ax.legend(title=title, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=columns, frameon=False)
    fig.suptitle("Mistrain, then recover: swap models train on swapped labels until the correction epoch, then on "
                 "true labels")
    return fig
