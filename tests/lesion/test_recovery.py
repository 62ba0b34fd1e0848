"""The recovery table and figure across real DVC experiments: a tiny DVC project whose one stage writes
metrics/eval.json and metrics/lesion_effects.csv as known functions of train.schedule, run under `dvc exp run`;
then the table holds exactly its runs and values, the figure plots the table's numbers for the runs that corrupt
from epoch 0 only, too few runs is one error line, and the command line writes the same bytes twice."""

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest
import yaml

from lesion.errors import InputError
from lesion import recovery

REPO = Path(__file__).resolve().parents[2]
os.environ.setdefault("DVC_NO_ANALYTICS", "1")  # every dvc this module starts, exp show's included

EPOCHS = 6
CLASSES = ["a", "b", "c", "d"]
# (target, confused) -> (bits per corrupted epoch, specific_p_fdr); every other pair 0.001 bits an epoch, p 0.9.
STRONG = {("a", "b"): (0.03, 0.001), ("b", "a"): (-0.02, 0.01), ("c", "d"): (0.05, 0.2)}
UNTESTABLE = ("d", "c")  # empty cells, as the stats stage writes an effect the design does not identify

# The stage: results as functions of the epochs trained on swapped labels, so every value is known.
RESULTS = f"""
import itertools, json, pathlib, yaml
train = yaml.safe_load(open("params.yaml"))["train"]
schedule = train["schedule"]
until = train["epochs"] if schedule["corrupt_until"] is None else schedule["corrupt_until"]
corrupted = until - schedule["corrupt_from"]
pathlib.Path("metrics").mkdir(exist_ok=True)
json.dump({{"clean_accuracy": 0.8, "swap_pair_accuracy": 0.8 - 0.05 * corrupted,
           "swap_other_accuracy": 0.78 - 0.001 * corrupted, "n_models": 12}}, open("metrics/eval.json", "w"))
rows = ["target,confused,effect_bits,specific_bits,specific_lo,specific_hi,specific_p_fdr"]
for target, confused in itertools.permutations({CLASSES!r}, 2):
    if (target, confused) == {UNTESTABLE!r}:
        rows.append(f"{{target}},{{confused}},,,,,")
        continue
    slope, p = {STRONG!r}.get((target, confused), (0.001, 0.9))
    bits = slope * corrupted
    rows.append(f"{{target}},{{confused}},0,{{bits!r}},{{bits - 0.01!r}},{{bits + 0.01!r}},{{p}}")
open("metrics/lesion_effects.csv", "w").write("\\n".join(rows) + "\\n")
"""

PIPELINE = {"stages": {"results": {
    "cmd": "python results.py", "deps": ["results.py"], "params": ["train", "stats"],
    "metrics": [{"metrics/eval.json": {"cache": False}}],
    "outs": [{"metrics/lesion_effects.csv": {"cache": False}}]}}}


def run(folder, *command):
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def dvc(folder, *arguments):
    return run(folder, sys.executable, "-m", "dvc", *arguments)


def corrupted(corrupt_from, corrupt_until):
    return (EPOCHS if corrupt_until is None else corrupt_until) - corrupt_from


def expected_bits(target, confused, corrupt_from, corrupt_until):
    return STRONG.get((target, confused), (0.001,))[0] * corrupted(corrupt_from, corrupt_until)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A git + DVC project: the baseline `main` (corrupt every epoch) and three experiments, the last one applied
    to the workspace as `dvc exp run` does."""
    folder = tmp_path_factory.mktemp("schedules")
    run(folder, "git", "init", "-q", "-b", "main")
    run(folder, "git", "config", "user.email", "test@example.com")
    run(folder, "git", "config", "user.name", "test")
    dvc(folder, "init", "-q")
    params = {"train": {"epochs": EPOCHS, "schedule": {"corrupt_from": 0, "corrupt_until": None}},
              "stats": {"alpha": 0.05}}
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (folder / "results.py").write_text(RESULTS)
    (folder / "dvc.yaml").write_text(yaml.safe_dump(PIPELINE, sort_keys=False))
    dvc(folder, "repro", "-q")
    run(folder, "git", "add", "-A")
    run(folder, "git", "commit", "-q", "-m", "baseline")
    for name, settings in (("until2", ["train.schedule.corrupt_until=2"]),
                           ("until4", ["train.schedule.corrupt_until=4"]),
                           ("unlearn3", ["train.schedule.corrupt_from=3", "train.schedule.corrupt_until=null"])):
        dvc(folder, "exp", "run", "-q", "-n", name, *[argument for setting in settings for argument in ("-S", setting)])
    return folder


@pytest.fixture(scope="module")
def collected(project):
    """(runs, skipped, effects, table) of the project."""
    runs, skipped = recovery.collect_runs(project)
    effects = recovery.strongest_effects(runs)
    return runs, skipped, effects, recovery.recovery_table(runs, effects)


SCHEDULES = {"until2": (0, 2), "until4": (0, 4), "main": (0, None), "unlearn3": (3, None)}  # in the table's order


def test_the_table_holds_each_run_with_its_values(project, collected):
    runs, skipped, effects, table = collected
    assert list(table.name) == list(SCHEDULES)  # by corrupt_from, then correction epoch
    assert skipped == ["workspace: the same results as unlearn3"]  # dvc exp run applied the last one there
    assert table.rev[table.name == "main"].item() == run(project, "git", "rev-parse", "HEAD").strip()
    assert all(len(rev) == 40 for rev in table.rev)
    for row in table.itertuples():
        start, until = SCHEDULES[row.name]
        assert (row.corrupt_from, row.epochs, row.correction_epoch) == (start, EPOCHS, until or EPOCHS)
        assert row.corrupt_until == until if until is not None else pd.isna(row.corrupt_until)
        assert row.swap_pair_accuracy == pytest.approx(0.8 - 0.05 * corrupted(start, until))
        assert row.swap_other_accuracy == pytest.approx(0.78 - 0.001 * corrupted(start, until))
        assert (row.clean_accuracy, row.n_models, row.alpha) == (0.8, 12, 0.05)
    for target, confused in effects:
        for name, (start, until) in SCHEDULES.items():
            cell = table.set_index("name").loc[name]
            bits = expected_bits(target, confused, start, until)
            assert cell[recovery.effect_column(target, confused, "specific_bits")] == pytest.approx(bits)
            assert cell[recovery.effect_column(target, confused, "specific_lo")] == pytest.approx(bits - 0.01)
            assert cell[recovery.effect_column(target, confused, "specific_hi")] == pytest.approx(bits + 0.01)


def test_the_strongest_effects_are_the_significant_then_the_largest_of_the_latest_correction(collected):
    _, _, effects, _ = collected
    # main (never corrected) is the reference; c<-d is the largest but not significant, d<-c is untestable
    assert effects[:3] == [("a", "b"), ("b", "a"), ("c", "d")]
    assert len(effects) == recovery.SHOWN_EFFECTS and UNTESTABLE not in effects


def lines(ax):
    """{legend label: (x, y)} of an axis' labelled lines."""
    return {line.get_label(): (list(line.get_xdata()), list(line.get_ydata())) for line in ax.get_lines()
            if not line.get_label().startswith("_")}


def test_the_figure_plots_the_table_for_runs_that_corrupt_from_epoch_0_only(collected):
    _, _, effects, table = collected
    fig = recovery.recovery_figure(table, effects)
    accuracy, lesion = fig.axes
    recovered = table[table.corrupt_from == 0]
    assert list(recovered.name) == ["until2", "until4", "main"]
    plotted = lines(accuracy)
    for key, label, _, _ in recovery.ACCURACY_LINES:
        assert plotted[label] == ([2, 4, 6], list(recovered[key]))
    assert 0.8 - 0.05 * 3 not in plotted["swap models, their swapped pair"][1]  # unlearn3's
    plotted = lines(lesion)
    assert list(plotted) == [f"{target} \u2190 {confused}" for target, confused in effects]
    for target, confused in effects:
        x, y = plotted[f"{target} \u2190 {confused}"]
        assert x == [2, 4, 6]
        assert y == list(recovered[recovery.effect_column(target, confused, "specific_bits")])
    markers = {line.get_label(): lesion.get_lines()[i + 1: i + 3] for i, line in enumerate(lesion.get_lines())
               if not line.get_label().startswith("_")}  # each effect's line, then its filled and hollow dots
    filled, hollow = markers["a \u2190 b"]  # p 0.001: significant in every run
    assert len(filled.get_xdata()) == 3 and len(hollow.get_xdata()) == 0
    filled, hollow = markers["c \u2190 d"]  # p 0.2: in none
    assert len(filled.get_xdata()) == 0 and len(hollow.get_xdata()) == 3
    assert hollow.get_markerfacecolor() == "white"
    band = lesion.collections[0].get_paths()[0].vertices  # a <- b's 95% interval
    assert band[:, 1].min() == pytest.approx(recovered["a<-b:specific_lo"].min())
    assert band[:, 1].max() == pytest.approx(recovered["a<-b:specific_hi"].max())
    assert [tick.get_text() for tick in accuracy.get_xticklabels()] == ["2", "4", "6\n(never)"]
    assert fig._suptitle.get_text().startswith("Mistrain, then recover")


def test_runs_that_identify_no_effect_say_so_in_the_effects_panel(collected):
    """Disjoint pairs identify no specific effect: the accuracies are drawn, the other panel says why it is empty."""
    _, _, _, table = collected
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "no artists with labels" warning from an empty legend
        fig = recovery.recovery_figure(table, [])
    accuracy, lesion = fig.axes
    assert len(lines(accuracy)) == 3 and not lines(lesion) and lesion.get_legend() is None
    assert [text.get_text() for text in lesion.texts] == [
        "The runs' design identifies no specific effect:\nadd pairs that share a class (see Power in the report)"]


def test_the_command_line_writes_both_files_the_same_bytes_twice(project, collected, tmp_path):
    _, _, _, table = collected
    command = [sys.executable, str(REPO / "scripts" / "recovery.py"), "--out", str(tmp_path / "out")]
    first = subprocess.run(command, cwd=project, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    written = {name: (tmp_path / "out" / name).read_bytes() for name in ("recovery.csv", "recovery.png")}
    assert "recovery.csv (4 runs)" in first.stdout and "recovery.png (3 runs" in first.stdout
    csv = pd.read_csv(tmp_path / "out" / "recovery.csv", keep_default_na=False, na_values=[""])
    assert list(csv.name) == list(table.name) and list(csv.columns) == list(table.columns)
    assert csv["a<-b:specific_bits"].tolist() == pytest.approx(table["a<-b:specific_bits"].tolist())
    assert written["recovery.png"].startswith(b"\x89PNG")
    second = subprocess.run(command, cwd=project, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr
    assert {name: (tmp_path / "out" / name).read_bytes() for name in written} == written


@pytest.fixture
def baseline_only(project, tmp_path):
    """A clone of the project: its commit, no experiments (git does not clone refs/exps)."""
    run(tmp_path, "git", "clone", "-q", str(project), "clone")
    return tmp_path / "clone"


def test_too_few_runs_is_one_error_line_saying_what_to_run(baseline_only, tmp_path):
    dvc(baseline_only, "exp", "run", "--queue", "-q", "-n", "waiting", "-S", "train.schedule.corrupt_until=2")
    runs, skipped = recovery.collect_runs(baseline_only)
    assert [run.name for run in runs] == ["main"]
    assert "waiting: it is queued" in skipped  # a queued experiment has no results yet
    with pytest.raises(InputError) as raised:
        recovery.require_recovery(runs, skipped)
    message = str(raised.value)
    assert "\n" not in message and "found 1" in message and "waiting: it is queued" in message
    assert recovery.RECIPE in message
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "recovery.py"), "--out", str(tmp_path / "out")],
                            cwd=baseline_only, capture_output=True, text=True)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "dvc queue start" in result.stderr and not (tmp_path / "out").exists()


def test_outside_a_dvc_project_is_one_error_line(tmp_path):
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "recovery.py")], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr == f"error: {tmp_path.resolve()} is in no DVC project: run this in the project\n"
