"""Stage `report`: the data behind the interactive views against the evaluate and stats outputs, the sprite sheet
against the test images, one-line errors for missing inputs, and the page driven in headless Chromium: hover and
click a confusion cell, switch to the contrast, sort and filter the effects table, with no JavaScript error."""

import base64
import io
import json
import os
import re
import shutil
from html import unescape

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from lesion import contract
from lesion.study import CLEAN
from tests.browser import Browser
from tests.conftest import run_module, write_params
from tests.fixtures.study import write_study
from tests.stages.test_plots import FAST_STATS, run_both

SWAPPED = "automobile/truck"  # its gallery entry is labelled the other way round, "truck/automobile swapped"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    project = tmp_path_factory.mktemp("report")
    write_study(project, test_images=300)  # 30 images a class: cells with several images
    run_both(project, stats=dict(FAST_STATS, bootstrap=20, null_draws=100, permutations=20))
    return project


def page_data(project):
    """The page's JSON document and its sprite sheet's pixels."""
    html = (project / contract.REPORT).read_text()
    document = json.loads(re.search(r'<script type="application/json" id="explorer-data">(.*?)</script>', html,
                                    re.S).group(1).replace("<\\/", "</"))
    sheet = re.search(r"\.thumb \{ background-image: url\(data:image/(?:png|jpeg);base64,([^)]+)\)", html).group(1)
    return document, np.asarray(Image.open(io.BytesIO(base64.b64decode(sheet))).convert("RGB"))


def study_inputs(project):
    manifest = pd.read_csv(project / contract.MANIFEST, keep_default_na=False, dtype=contract.NAME_COLUMNS)
    conditions = np.where(manifest.kind == "clean", CLEAN, manifest.class_a + "/" + manifest.class_b)
    with np.load(project / contract.CELLS) as cells:
        arrays = {name: cells[name] for name in cells.files}
    return manifest, conditions, arrays


def test_each_view_shows_its_trial_0_model_as_evaluated(built):
    document, _ = page_data(built)
    manifest, conditions, cells = study_inputs(built)
    per_class = pd.read_csv(built / contract.PER_CLASS)
    accuracy = per_class.accuracy.to_numpy().reshape(len(manifest), -1)
    assert [view["condition"] for view in document["views"]] == list(dict.fromkeys(conditions))
    assert len(document["views"]) == 46
    clean_counts = cells["count"][conditions == CLEAN].mean(axis=0)
    for view in document["views"]:
        model = view["model"]
        assert conditions[model] == view["condition"] and manifest.trial[model] == 0 == view["trial"]
        assert view["cells"]["count"] == cells["count"][model].tolist()
        for t in range(10):
            for p in range(10):
                shown = cells["top_index"][model, t, p]
                shown = shown[shown >= 0]
                entries = view["cells"]["top"][t][p]
                assert [document["sprite"]["indices"][slot] for slot, _ in entries] == shown.tolist()
                np.testing.assert_allclose([prob for _, prob in entries],
                                           cells["top_prob"][model, t, p, : len(shown)], rtol=1e-3)
        mine = accuracy[conditions == view["condition"]]
        np.testing.assert_allclose(view["classes"]["accuracy"]["mean"], mine.mean(axis=0), rtol=1e-3)
        np.testing.assert_allclose(view["classes"]["accuracy"]["sd"], mine.std(axis=0, ddof=1), rtol=1e-3)
        assert view["classes"]["n"] == len(mine)
        if view["condition"] == CLEAN:
            assert view["contrast"] is None
        else:
            expected = cells["count"][conditions == view["condition"]].mean(axis=0) - clean_counts
            np.testing.assert_allclose(np.array(view["contrast"], float), expected, atol=0.005)
    pictures = {view["condition"]: [p["heading"] for p in view["pictures"]] for view in document["views"]}
    assert pictures[CLEAN] == ["Heading of caricatures/clean.png"]
    assert pictures[SWAPPED] == ["Heading of caricatures/truck-automobile_swapped.png"]
    assert sum(map(len, pictures.values())) == 2


def test_the_sprite_sheet_holds_each_shown_image_once(built):
    document, sheet = page_data(built)
    x_test = np.load(built / "data/cifar10.npz")["x_test"].astype(float)
    indices = document["sprite"]["indices"]
    assert len(indices) == len(set(indices)) == document["sprite"]["count"]  # one slot, one image
    _, _, cells = study_inputs(built)
    models = [view["model"] for view in document["views"]]
    shown = cells["top_index"][models]
    assert sorted(indices) == sorted(set(shown[shown >= 0].tolist()))  # every image a cell shows, no other
    slots = dict(enumerate(indices))
    columns = document["sprite"]["columns"]
    for slot, index in slots.items():
        row, column = divmod(slot, columns)
        block = sheet[32 * row : 32 * row + 32, 32 * column : 32 * column + 32].astype(float)
        errors = np.abs(x_test - block).mean(axis=(1, 2, 3))
        assert errors.argmin() == index and errors[index] < 16  # JPEG's loss on noise, far below another image's


def test_every_effect_is_a_row(built):
    document, _ = page_data(built)
    rows = pd.DataFrame(document["effects"]["rows"], columns=document["effects"]["fields"])
    effects = pd.read_csv(built / contract.LESION_EFFECTS)
    welch, vs_clean = pd.read_csv(built / contract.WELCH), pd.read_csv(built / contract.VS_CLEAN)
    counts = rows.family.value_counts().to_dict()
    assert counts == {"specific": effects.specific_bits.notna().sum(), "vs clean": effects.effect_bits.notna().sum(),
                      "contrast": effects.contrast_bits.notna().sum(), "Welch": welch.g.notna().sum(),
                      "clean baseline": vs_clean.g.notna().sum()}
    specific = rows[rows.family == "specific"].set_index(["target", "confused"])
    expected = effects.set_index(["target", "confused"]).loc[specific.index]
    np.testing.assert_allclose(specific.estimate, expected.specific_bits, rtol=1e-3)
    assert (specific.significant == (expected.specific_p_fdr < 0.05)).all() and specific.significant.sum() >= 2
    html = (built / contract.REPORT).read_text()
    assert all(f'id="figure-{figure}"' in html for figure in set(rows.figure))


@pytest.mark.parametrize("missing, writer", [(contract.VIS_ENTRIES, "visualize"), (contract.CELLS, "evaluate")])
def test_a_missing_input_is_one_error_line(built, tmp_path, missing, writer):
    shutil.copytree(built, tmp_path, dirs_exist_ok=True)
    (tmp_path / missing).unlink()
    (tmp_path / contract.REPORT).unlink()
    result = run_module(tmp_path, "report")
    assert result.returncode == 1 and result.stderr.strip().splitlines() == [
        f"error: {missing} is missing: run the earlier stages first (dvc repro {writer})"]
    assert not (tmp_path / contract.REPORT).exists()


@pytest.fixture(scope="module")
def browser(built, tmp_path_factory):
    """The report open in headless Chromium; screenshots go to $LESION_SCREENSHOTS when set."""
    folder = os.environ.get("LESION_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots")
    with Browser(built / contract.REPORT, folder) as opened:
        yield opened


def test_hovering_a_cell_shows_its_most_confident_images(built, browser):
    manifest, conditions, cells = study_inputs(built)
    browser.choose("pair-select", f"{SWAPPED} swapped")
    model = int(manifest.model_id[(conditions == SWAPPED) & (manifest.trial == 0)].iloc[0])
    counts = cells["count"][model]
    t, p = np.unravel_index(np.argmax(counts * (counts <= 3)), counts.shape)  # fewer than the 3 kept: all shown
    panel = browser.hover(f'#matrix td[data-t="{t}"][data-p="{p}"]')
    shown = cells["top_index"][model, t, p]
    shown = shown[shown >= 0]
    assert panel["indices"] == shown.tolist() and len(shown) >= 2
    t, p = np.unravel_index(np.argmax(counts), counts.shape)  # more than 3: the 3 most confident
    assert counts[t, p] > 3 and browser.hover(f'#matrix td[data-t="{t}"][data-p="{p}"]')["indices"] == [
        i for i in cells["top_index"][model, t, p]]
    t, p = np.unravel_index(np.argmax(counts * (counts <= 3)), counts.shape)
    panel = browser.hover(f'#matrix td[data-t="{t}"][data-p="{p}"]')
    np.testing.assert_allclose(panel["probs"], cells["top_prob"][model, t, p, : len(shown)], atol=6e-4)
    assert f"model {model}, trial 0): {counts[t, p]} test images" in panel["text"]
    x_test = np.load(built / "data/cifar10.npz")["x_test"].astype(float)
    assert browser.click(f'#matrix td[data-t="{t}"][data-p="{p}"]')["indices"] == panel["indices"]  # kept, so
    pixels = browser.thumb_pixels(0)  # as drawn, 2 x 2 screen pixels each, read back at 32 x 32
    errors = np.abs(x_test - pixels).mean(axis=(1, 2, 3))
    assert errors.argmin() == shown[0] and errors[shown[0]] < 16
    browser.screenshot("pair_view")


def test_a_clicked_cell_stays_and_the_contrast_shows_both_models(built, browser):
    manifest, conditions, cells = study_inputs(built)
    browser.choose("pair-select", f"{SWAPPED} swapped")
    first = browser.click('#matrix td[data-t="0"][data-p="1"]')
    assert browser.hover('#matrix td[data-t="2"][data-p="3"]')["cell"] == first["cell"] == "0,1"  # pinned
    browser.click("#mode-contrast")
    kept = browser.panel()  # the kept cell, now shown as the contrast shows it: both models
    assert kept["cell"] == "0,1" and "clean (model" in kept["text"] and "minus the clean" in kept["text"]
    assert len(browser.driver.find_elements("css selector", "#matrix td.pinned")) == 1
    browser.click("#mode-model")
    assert "clean (model" not in browser.panel()["text"] and browser.panel()["cell"] == "0,1"
    browser.click("#mode-contrast")
    browser.click('#matrix td[data-t="0"][data-p="1"]')  # unpin
    panel = browser.click('#matrix td[data-t="1"][data-p="9"]')
    clean = int(manifest.model_id[(conditions == CLEAN) & (manifest.trial == 0)].iloc[0])
    assert f"clean (model {clean}, trial 0)" in panel["text"] and f"{SWAPPED} (model" in panel["text"]
    expected = [i for m in (browser.model_of(SWAPPED), clean) for i in cells["top_index"][m, 1, 9] if i >= 0]
    assert panel["indices"] == expected
    browser.screenshot("contrast")


def test_the_effects_table_sorts_and_filters(built, browser):
    browser.sort("estimate")
    estimates = browser.column("estimate")
    assert estimates == sorted(estimates) and len(estimates) == browser.effect_count()
    browser.sort("estimate")
    assert browser.column("estimate") == sorted(estimates, reverse=True)
    browser.choose("filter-family", "Welch")
    browser.click("#filter-significant")
    welch = pd.read_csv(built / contract.WELCH)
    significant = welch[welch.p_fdr < 0.05]
    assert sorted(zip(browser.column("target"), browser.column("confused"))) == sorted(
        zip(significant.target, significant.confused))
    browser.choose("filter-target", "automobile")
    assert set(browser.column("target")) == {"automobile"} and ("truck" in browser.column("confused"))
    browser.screenshot("effects")
    link = browser.first_link()
    assert link.startswith("#figure-") and link[1:] in unescape((built / contract.REPORT).read_text())


def test_no_javascript_error(browser):
    assert browser.errors() == []


def test_grey_28_pixel_images_are_drawn_whole(tmp_path):
    """An MNIST-shaped study: each thumbnail is its own 28 x 28 image (on a 32-pixel tile), nothing of the next."""
    write_study(tmp_path, trials=2, clean_trials=2, pairs=[("0", "1"), ("1", "2"), ("0", "2")], dataset="mnist",
                classes=[str(digit) for digit in range(10)], planted={("0", "1"): 0.1}, test_images=200,
                image_shape=(28, 28, 1))
    write_params(tmp_path, data={"dataset": "mnist"})
    run_both(tmp_path, stats=dict(FAST_STATS, bootstrap=20, null_draws=100, permutations=20))
    _, conditions, cells = study_inputs(tmp_path)
    x_test = np.load(tmp_path / "data/mnist.npz")["x_test"][..., 0].astype(float)
    with Browser(tmp_path / contract.REPORT, tmp_path / "screenshots") as browser:
        browser.choose("pair-select", "clean (no swap)")
        count = cells["count"][int(np.flatnonzero(conditions == CLEAN)[0])]
        t, p = np.unravel_index(count.argmax(), count.shape)
        browser.hover(f'#matrix td[data-t="{t}"][data-p="{p}"]')
        panel = browser.click(f'#matrix td[data-t="{t}"][data-p="{p}"]')
        assert len(panel["indices"]) == 3
        for number, index in enumerate(panel["indices"]):
            pixels = browser.thumb_pixels(number).mean(axis=-1)
            errors = np.abs(x_test - pixels).mean(axis=(1, 2))
            assert errors.argmin() == index and errors[index] < 16
        assert browser.errors() == []
