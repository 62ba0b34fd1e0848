"""The `stats` and `plots` stages under DVC: repro in a fresh git + DVC repository fed by git-tracked synthetic
inputs, then `dvc metrics diff` and `dvc plots diff` between two commits."""

import json
import shutil

import pytest
import yaml

from tests.conftest import REPO, write_params
from tests.fixtures.study import write_study, write_vis
from tests.test_pipeline import ran, sh

FAST_STATS = {"alpha": 0.05, "bootstrap": 100, "null_draws": 300, "permutations": 100, "seed": 0}
STAGES = ("stats", "epochs", "plots", "report")
VIS_PLOTS = (("happy_maps.png", None), ("sad_maps.png", None), ("inversion.png", None),
             ("caricatures/clean.png", "clean"), ("filters/conv1.png", None), ("confusion/clean.png", "clean"))


def commit(project, message):
    sh(project, "git", "add", "-A")
    sh(project, "git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message)


@pytest.fixture
def repo(tmp_path):
    """A repository holding only the four stages (as the real dvc.yaml declares them) and their inputs."""
    for code in ("stages", "lesion"):
        shutil.copytree(REPO / code, tmp_path / code, ignore=shutil.ignore_patterns("__pycache__"))
    pipeline = yaml.safe_load((REPO / "dvc.yaml").read_text())
    pipeline["stages"] = {name: pipeline["stages"][name] for name in STAGES}
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    write_params(tmp_path, stats=FAST_STATS, plots={"dpi": 50})
    write_study(tmp_path)
    write_vis(tmp_path, VIS_PLOTS)  # a stand-in for every image dvc.yaml's plots list of the gallery
    sh(tmp_path, "git", "init", "-q")
    sh(tmp_path, "dvc", "init", "-q")
    sh(tmp_path, "dvc", "config", "core.analytics", "false")
    commit(tmp_path, "inputs")
    return tmp_path


@pytest.mark.slow
def test_repro_commit_change_and_diff(repo):
    assert ran(sh(repo, "dvc", "repro")) == set(STAGES)
    # the small tables in git; the images and the report in the DVC cache (git ignores them, dvc.lock has hashes)
    assert sh(repo, "git", "status", "--porcelain", "--ignored", "metrics", "plots/data").count("!!") == 0
    assert sh(repo, "git", "check-ignore", "plots/figures", "plots/report.html").split() == [
        "plots/figures", "plots/report.html"]
    commit(repo, "first results")
    assert ran(sh(repo, "dvc", "repro")) == set()

    write_study(repo, seed=1, shift=0.05)
    assert ran(sh(repo, "dvc", "repro")) == set(STAGES)
    commit(repo, "new inputs")

    diff = json.loads(sh(repo, "dvc", "metrics", "diff", "HEAD~1", "HEAD", "--json"))
    summary = diff["metrics/summary.json"]
    assert summary["mean_kl_bits"]["old"] != summary["mean_kl_bits"]["new"]
    assert summary["strongest_positive_t"]["diff"] == pytest.approx(
        summary["strongest_positive_t"]["new"] - summary["strongest_positive_t"]["old"])
    assert "n_tests" not in summary  # unchanged values are left out
    assert set(diff) <= {"metrics/summary.json", "metrics/eval.json"}  # provenance.json is no metric: no noise

    plots = json.loads(sh(repo, "dvc", "plots", "diff", "HEAD~1", "HEAD", "--json", "-o", str(repo / "rendered")))
    plots = plots.get("data", plots)
    assert {"Welch t per effect (target<-confused)", "Test accuracy per class and condition",
            "Training loss", "Training accuracy"} <= set(plots)
    images = {name for name, entries in plots.items() if entries[0]["type"] == "image"}
    assert {"plots/figures/t_heatmap.png", "plots/figures/architecture.png", "plots/vis/happy_maps.png",
            "plots/vis/filters/conv1.png"} <= images
    assert {entry["revisions"][0] for entry in plots["plots/figures/t_heatmap.png"]} == {"HEAD~1", "HEAD"}
    assert plots["Welch t per effect (target<-confused)"][0]["revisions"] == ["HEAD~1", "HEAD"]
