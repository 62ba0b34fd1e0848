"""Stages `plots` and `report`: every figure a valid PNG, DVC plot data with the right values, a self-contained
report that embeds each figure and gallery image once and states the study's power and its provenance. The
report's interactive views are tested in tests/stages/test_report.py."""

import base64
import hashlib
import json
import re
import shutil
import subprocess
import sys
from html import unescape

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from lesion import contract
from lesion.model.networks import Network
from lesion.report.figures import CAPTIONS, WIDTH
from lesion.report.page import TABLE_ROWS
from tests.conftest import run_module, write_params
from tests.fixtures.study import CIFAR100_CLASSES, HELPS, pairs_with_a_triangle, write_study

FAST_STATS = {"alpha": 0.05, "bootstrap": 100, "null_draws": 300, "permutations": 100, "seed": 0}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
OUTPUTS = [contract.FIGURES, contract.PLOT_DATA, contract.PROVENANCE]


def run_both(project, stats=FAST_STATS):
    """The stats, epochs, plots and report stages."""
    write_params(project, stats=stats, plots={"dpi": 60})
    for stage in ("stats", "epochs", "plots"):
        run_module(project, stage, check=True)
    return run_module(project, "report", check=True)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    project = tmp_path_factory.mktemp("plots")
    write_study(project)
    run_both(project)
    return project


def output_bytes(project):
    """Every output file of the stage, by path, as bytes."""
    files = {}
    for output in OUTPUTS + [contract.REPORT]:
        path = project / output
        for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if file.is_file():
                files[str(file.relative_to(project))] = file.read_bytes()
    return files


def test_every_figure_is_a_png(built):
    names = sorted(path.name for path in (built / contract.FIGURES).iterdir())
    assert names == sorted(CAPTIONS)
    for name in names:
        data = (built / contract.FIGURES / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 5000, name


def embedded_images(html):
    """{anchor or alt text: decoded bytes} of every <img> the page embeds as a data URI; fails on any other src."""
    images = {}
    for identity, source, alt in re.findall(r'<figure(?: id="([^"]+)")?><img src="([^"]+)" alt="([^"]*)"', html):
        assert source.startswith("data:image/png;base64,"), source[:40]
        images[identity or unescape(alt)] = base64.b64decode(source.split(",", 1)[1])
    return images


def test_report_embeds_every_figure_and_gallery_image_once(built):
    html = (built / contract.REPORT).read_text()
    images = embedded_images(html)
    figures = {name: (built / contract.FIGURES / name).read_bytes() for name in CAPTIONS}
    assert {key: value for key, value in images.items() if key.startswith("figure-")} == {
        f"figure-{name}": png for name, png in figures.items()}  # every figure, once, as plots/figures has it
    gallery = {key: value for key, value in images.items() if not key.startswith("figure-")}
    assert gallery == {f"Heading of {name}. Caption of {name}.": (built / "plots/vis" / name).read_bytes()
                       for name in ("happy_maps.png", "filters/conv1.png")}  # the images of every model
    for png in list(figures.values()) + [(built / "plots/vis" / name).read_bytes() for name in
                                         ("caricatures/clean.png", "caricatures/truck-automobile_swapped.png")]:
        assert html.count(base64.b64encode(png).decode()) == 1  # the one-model images are in the pair view's data
    captions = re.findall(r"<figcaption>([^<]+)</figcaption>", html)
    assert len(captions) == len(CAPTIONS) + 2 and not any(caption.endswith(".png") for caption in captions)
    assert not re.search(r"""(src|href)=["']?(https?:|//|figures/|vis/)""", html)  # nothing outside the file


def test_report_contents_sections_and_tables(built):
    html = (built / contract.REPORT).read_text()
    headings = re.findall(r'<h2 id="([^"]+)">([^<]+)</h2>', html)
    toc = re.findall(r'<li><a href="#([^"]+)">([^<]+)</a></li>', html)
    assert toc == headings and len(toc) == 15
    assert [heading for _, heading in headings][:2] == ["Summary", "Power"] and headings[-1][1] == "Provenance"
    assert html.index("<h2>Contents</h2>") < html.index('<h2 id="summary">')
    assert "2 of 90 specific effects are significant" in html and "2 of 90 Welch tests are significant" in html
    rows = re.findall(r"<tr><td>(\w+)</td><td>(\w+)</td><td class=\"number\">(-?[\d.]+)</td>", html)
    assert [row[:2] for row in rows[:4]] == [("automobile", "truck"), ("dog", "cat")] * 2
    assert float(rows[0][2]) == pytest.approx(0.1, abs=0.02) and float(rows[1][2]) == pytest.approx(-0.1, abs=0.02)
    assert float(rows[2][2]) > 5 and float(rows[3][2]) < -5  # the Welch t of the same two effects


def test_outputs_are_byte_identical(built, tmp_path):
    """A second run gives the same bytes: nothing reads the clock; the plots stage does not read plots/vis."""
    copy = tmp_path / "copy"
    shutil.copytree(built, copy)
    shutil.rmtree(copy / contract.VIS)
    run_module(copy, "plots", check=True)
    shutil.copytree(built / contract.VIS, copy / contract.VIS)
    run_module(copy, "report", check=True)
    first, second = output_bytes(built), output_bytes(copy)
    assert sorted(first) == sorted(second) and len(first) == len(CAPTIONS) + 5  # + 3 plot tables, report, record
    assert first == second


def test_provenance_values(built):
    record = json.loads((built / contract.PROVENANCE).read_text())
    assert record["params"] == yaml.safe_load((built / "params.yaml").read_text())
    assert record["params"]["stats"]["bootstrap"] == 100 and record["params"]["plots"]["dpi"] == 60
    data = (built / contract.dataset_file("cifar10")).read_bytes()
    assert record["data"] == {"dataset": "cifar10", "url": record["params"]["data"]["url"],
                              "verify": record["params"]["data"]["verify"],
                              "file": "data/cifar10.npz", "bytes": len(data),
                              "sha256": hashlib.sha256(data).hexdigest()}
    assert record["training"] == "not recorded"  # no metrics/training/run.json in this study
    assert record["code"] == {"commit": "not a git checkout", "commit_date": None, "uncommitted_changes": None}
    versions = record["versions"]
    assert versions["python"] == ".".join(map(str, sys.version_info[:3]))
    assert versions["numpy"] == np.__version__ and versions["pandas"] == pd.__version__
    assert {"keras", "scipy", "statsmodels", "matplotlib", "dvc", "dvclive"} <= set(versions)
    html = (built / contract.REPORT).read_text()
    provenance = html.split('<h2 id="provenance">')[1]
    assert hashlib.sha256(data).hexdigest() in provenance and "not recorded" in provenance
    assert "<td>stats.bootstrap</td><td>100</td>" in provenance and "not a git checkout" in provenance


def test_power_in_the_report(built):
    html = (built / contract.REPORT).read_text()
    power = html.split('<h2 id="power">')[1].split("<h2")[0]
    # 4 clean models, 3 per pair; a Welch test: 8 pairs x 3 models lost C, (45 - 9 - 9 + 1) x 3 lost neither
    assert "Models per test: 4 clean models and 3 swap models per pair." in power
    assert "compares 24 models that lost the confused class with 84 that lost neither class" in power
    assert re.search(r"at least 0\.6\d standard deviations", power)  # tests/lesion/stats/test_power.py: the value
    assert ('<p class="warning"><strong>Warning:</strong> This is a smoke test, not a study: it has only 4 clean '
            "models") in power
    assert html.index('class="warning"') < html.index("<h2>Contents</h2>")  # also at the top
    markdown = (built / contract.SIGNIFICANT).read_text()
    assert "## Power\n\nModels per test: 4 clean models and 3 swap models per pair." in markdown
    assert "**Warning:** This is a smoke test" in markdown


def test_effects_over_training_in_the_report(built):
    """The planted automobile <- truck effect, absent in epoch 1, is among the trajectories; counts per epoch."""
    html = unescape((built / contract.REPORT).read_text())
    section = html.split('<h2 id="effects-over-training">')[1].split("<h2")[0]
    by_epoch = pd.read_csv(built / contract.EFFECTS_BY_EPOCH)
    counts = by_epoch[by_epoch.specific_p_fdr < 0.05].groupby("epoch").size().reindex([1, 3, 5], fill_value=0)
    assert f"epoch 1: {counts[1]}, epoch 3: {counts[3]}, epoch 5: {counts[5]}." in section
    assert counts[1] < counts[3] and 'id="figure-effect_trajectories.png"' in section
    from lesion.report.over_training import strongest
    assert HELPS in strongest(by_epoch, 0.05, 6)


def test_plot_data_values(built):
    effects = pd.read_csv(built / contract.EFFECTS).set_index("effect")
    welch = pd.read_csv(built / contract.WELCH).set_index(["target", "confused"])
    assert len(effects) == 90 and effects.loc["automobile<-truck"].t == pytest.approx(welch.loc[HELPS].t, rel=1e-5)
    accuracy = pd.read_csv(built / contract.CLASS_ACCURACY).set_index("bar")
    assert len(accuracy) == 30
    cat = accuracy.accuracy.loc[["cat: clean", "cat: swap, class kept", "cat: swap, class in pair"]].tolist()
    assert cat[0] > cat[1] > cat[2]


def test_small_study_without_training_says_so(tmp_path):
    """Two disjoint pairs: no specific effect is identified (no empty heatmap, forest or effects over training), no
    curves, no run record."""
    write_study(tmp_path, pairs=[("automobile", "truck"), ("cat", "dog")], training=False)
    (tmp_path / contract.FIGURES).mkdir(parents=True)
    (tmp_path / contract.FIGURES / "training.png").write_bytes(PNG_SIGNATURE)  # stale, from an earlier run
    run_both(tmp_path)
    missing = {"training.png", "specific_heatmap.png", "forest.png", "effect_trajectories.png", "epoch_heatmaps.png"}
    assert sorted(path.name for path in (tmp_path / contract.FIGURES).iterdir()) == sorted(set(CAPTIONS) - missing)
    html = (tmp_path / contract.REPORT).read_text()
    assert "No training curves" in html and "The design identifies no specific effect" in html
    assert "No effect over training: no epoch was evaluated" in html
    assert len(re.findall(r"<img ", html)) == len(CAPTIONS) - len(missing) + 2  # + the gallery's two
    assert unescape(html).count("No effect is significant: with this study's power (see Power) that means too few "
                                "models, not no effect.") == 2


def git(project, *arguments):
    return subprocess.run(["git", *arguments], cwd=project, capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.slow
def test_provenance_of_a_git_checkout_with_a_train_record(built, tmp_path):
    shutil.copytree(built, tmp_path, dirs_exist_ok=True)
    run = {"backend": "jax", "device": "a Ray cluster, 8 GPUs (H200)", "precision": "mixed_bfloat16", "epochs": 4,
           "pack_size": 9, "executor": "ray", "network": Network("top_down").to_dict()}
    (tmp_path / contract.TRAIN_RUN).write_text(json.dumps(run))
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "inputs")
    write_params(tmp_path, plots={"dpi": 61})  # a tracked file changed since the commit
    (tmp_path / contract.WELCH).write_text((tmp_path / contract.WELCH).read_text())  # an output: not listed
    (tmp_path / contract.SUMMARY).write_text((tmp_path / contract.SUMMARY).read_text() + "\n")
    run_module(tmp_path, "plots", check=True)
    run_module(tmp_path, "report", check=True)
    record = json.loads((tmp_path / contract.PROVENANCE).read_text())
    assert record["training"] == run
    assert record["code"] == {"commit": git(tmp_path, "rev-parse", "HEAD"),
                              "commit_date": git(tmp_path, "log", "-1", "--format=%cI"),
                              "uncommitted_changes": ["params.yaml"]}
    assert record["params"]["plots"]["dpi"] == 61
    html = (tmp_path / contract.REPORT).read_text()
    assert "<td>device</td><td>a Ray cluster, 8 GPUs (H200)</td>" in html and record["code"]["commit"] in html


def test_missing_stats_output_names_the_stage(tmp_path):
    write_study(tmp_path, training=False, vis=False)
    write_params(tmp_path, plots={"dpi": 60})
    result = run_module(tmp_path, "plots")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [(
        "error: metrics/welch.csv is missing: run the earlier stages first (dvc repro stats)")]
    assert not (tmp_path / contract.FIGURES).exists() and not (tmp_path / contract.PROVENANCE).exists()


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    """A CIFAR-100 study of 63 of its 4,950 pairs (a triangle, whose odd cycle identifies single effects, and 60
    drawn at random), 2 models a pair and 3 clean; learning aquarium_fish helps bear by 0.1 bits."""
    project = tmp_path_factory.mktemp("many")
    write_study(project, trials=2, clean_trials=3, pairs=pairs_with_a_triangle(CIFAR100_CLASSES, 60),
                classes=CIFAR100_CLASSES, planted={("bear", "aquarium_fish"): 0.1}, dataset="cifar100")
    write_params(project, data={"dataset": "cifar100"})
    run_both(project, stats=dict(FAST_STATS, bootstrap=20, null_draws=100, permutations=20))
    return project


def test_a_100_class_study_has_every_table_row_and_figure(many):
    welch, kl = pd.read_csv(many / contract.WELCH), pd.read_csv(many / contract.KL)
    effects = pd.read_csv(many / contract.LESION_EFFECTS)
    assert len(welch) == len(kl) == len(effects) == 100 * 99 and len(pd.read_csv(many / contract.LESION_ROWS)) == 100
    np.testing.assert_array_equal(kl.kl_bits.isna(), (welch.n_a == 0) | (welch.n_b == 0))
    planted = effects.set_index(["target", "confused"]).loc[("bear", "aquarium_fish")]
    assert planted.specific_lo < 0.1 < planted.specific_hi and 0 < effects.specific_bits.notna().sum() < 9900
    assert len(pd.read_csv(many / contract.EFFECTS)) == welch.t.notna().sum()
    assert len(pd.read_csv(many / contract.CLASS_ACCURACY)) == 3 * 100
    assert sorted(path.name for path in (many / contract.FIGURES).iterdir()) == sorted(CAPTIONS)


def test_a_100_class_study_figures_fit_the_report(many):
    """No figure wider than WIDTH at the study's 60 dpi; the class x class grids grown to the full width; the
    confusion grids, two a row, at most twice as tall as wide."""
    sizes = {path.name: Image.open(path).size for path in (many / contract.FIGURES).iterdir()}
    assert all(width <= WIDTH * 60 for width, _ in sizes.values()), sizes
    for name in ("specific_heatmap.png", "t_heatmap.png", "kl_heatmap.png"):
        assert sizes[name][0] == WIDTH * 60 and sizes[name][1] >= 0.9 * WIDTH * 60, (name, sizes[name])
    assert sizes["confusion.png"][1] <= 2 * WIDTH * 60


def report_section(html, anchor):
    return html.split(f'<h2 id="{anchor}">')[1].split("<h2")[0]


def test_a_100_class_report_caps_its_tables_at_the_strongest_rows(many):
    html = unescape((many / contract.REPORT).read_text())
    assert "<title>Lesion study of cifar100 classifiers</title>" in html and "(100 classes)" in html
    welch = pd.read_csv(many / contract.WELCH)
    significant = welch[welch.p_fdr < 0.05]
    section = report_section(html, "the-paper-s-welch-contrast")
    shown = re.findall(r"<tr><td>(\w+)</td><td>(\w+)</td>", section)
    assert len(shown) == min(TABLE_ROWS, len(significant)) and len(significant) > TABLE_ROWS
    strongest = significant.reindex(significant.t.abs().sort_values(ascending=False).index[:TABLE_ROWS])
    assert set(shown) == set(zip(strongest.target, strongest.confused))
    assert (f"The {TABLE_ROWS} rows largest in |t| of {len(significant)}; the {len(significant) - TABLE_ROWS} others "
            "are left out here, all are in metrics/welch.csv.") in section
    clean = report_section(html, "clean-baseline")
    assert len(re.findall(r"<tr><td>", clean)) == TABLE_ROWS and f"of 100; the {100 - TABLE_ROWS} others" in clean
    lesion = report_section(html, "lesion-effects")
    assert 'class="pair"' not in lesion and "by about 1/98 of its size" in lesion  # heatmaps one under the other
