"""Stage `plots`: every figure a valid PNG, DVC plot data with the right values, a self-contained report."""

import base64
import re
import shutil

import pandas as pd
import pytest

from lesion import contract
from lesion.report.figures import CAPTIONS
from tests.conftest import run_module, write_params
from tests.fixtures.study import HELPS, write_study

FAST_STATS = {"alpha": 0.05, "bootstrap": 100, "null_draws": 300, "permutations": 100, "seed": 0}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_both(project):
    write_params(project, stats=FAST_STATS, plots={"dpi": 60})
    run_module(project, "stats", check=True)
    return run_module(project, "plots", check=True)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    project = tmp_path_factory.mktemp("plots")
    write_study(project)
    run_both(project)
    return project


def embedded_pngs(html):
    return [base64.b64decode(data) for data in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)]


def test_every_figure_is_a_png(built):
    names = sorted(path.name for path in (built / contract.FIGURES).iterdir())
    assert names == sorted(CAPTIONS)
    for name in names:
        data = (built / contract.FIGURES / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 5000, name


def test_report_embeds_figures_vis_and_the_table(built):
    html = (built / contract.REPORT).read_text()
    pngs = embedded_pngs(html)
    # eight figures and the two visualize images, every one a PNG
    assert len(pngs) == 8 + 2 and all(png.startswith(PNG_SIGNATURE) for png in pngs)
    assert (built / contract.FIGURES / "t_heatmap.png").read_bytes() in pngs
    assert (built / "plots/vis/filters/conv1.png").read_bytes() in pngs
    assert "<h2>What the networks see</h2>" in html and "filters/conv1.png" in html
    assert "2 of 90 specific effects are significant" in html and "2 of 90 Welch tests are significant" in html
    rows = re.findall(r"<tr><td>(\w+)</td><td>(\w+)</td><td class=\"number\">(-?[\d.]+)</td>", html)
    assert [row[:2] for row in rows[:4]] == [("automobile", "truck"), ("dog", "cat")] * 2
    assert float(rows[0][2]) == pytest.approx(0.1, abs=0.02) and float(rows[1][2]) == pytest.approx(-0.1, abs=0.02)
    assert float(rows[2][2]) > 5 and float(rows[3][2]) < -5  # the Welch t of the same two effects
    assert "src=\"http" not in html and "<script" not in html


def test_plot_data_values(built):
    effects = pd.read_csv(built / contract.EFFECTS).set_index("effect")
    welch = pd.read_csv(built / contract.WELCH).set_index(["target", "confused"])
    assert len(effects) == 90 and effects.loc["automobile<-truck"].t == pytest.approx(welch.loc[HELPS].t, rel=1e-5)
    accuracy = pd.read_csv(built / contract.CLASS_ACCURACY).set_index("bar")
    assert len(accuracy) == 30
    cat = accuracy.accuracy.loc[["cat: clean", "cat: swap, class kept", "cat: swap, class in pair"]].tolist()
    assert cat[0] > cat[1] > cat[2]


@pytest.mark.slow
def test_without_training_or_vis_the_report_says_so(built, tmp_path):
    write_study(tmp_path, training=False, vis=False)  # the study of `built`, whose statistics are reused
    for path in (contract.WELCH, contract.KL, contract.VS_CLEAN, contract.SUMMARY, contract.LESION_EFFECTS):
        shutil.copy(built / path, tmp_path / path)
    (tmp_path / contract.FIGURES).mkdir(parents=True)
    (tmp_path / contract.FIGURES / "training.png").write_bytes(PNG_SIGNATURE)  # stale, from an earlier run
    write_params(tmp_path, plots={"dpi": 60})
    run_module(tmp_path, "plots", check=True)
    assert sorted(path.name for path in (tmp_path / contract.FIGURES).iterdir()) == sorted(
        set(CAPTIONS) - {"training.png"})
    html = (tmp_path / contract.REPORT).read_text()
    assert "No training curves" in html and "No images in plots/vis" in html and len(embedded_pngs(html)) == 7


def test_missing_stats_output_names_the_stage(tmp_path):
    write_study(tmp_path, training=False, vis=False)
    write_params(tmp_path, plots={"dpi": 60})
    result = run_module(tmp_path, "plots")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [(
        "error: metrics/welch.csv is missing: run the earlier stages first (dvc repro stats)")]
    assert not (tmp_path / contract.REPORT).exists()
