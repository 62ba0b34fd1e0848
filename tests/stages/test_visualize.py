"""Stages `vis_models` and `visualize`: the shown models' labels and weights, without ids, in one small npz whose
bytes do not move when model ids do; every PNG of the gallery and its index page in reading order, byte-identical
from run to run; no model to show is one error."""

import json
import re
import shutil
from html import unescape

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from lesion import contract
from lesion.model.networks import Network
from tests.conftest import run_module, write_params
from tests.fixtures.blobs import SWAPPED

FAST = {"steps": 24, "restarts": 2, "channels": 4, "images": 2, "dpi": 40}
EXPECTED = ["caricatures/automobile-truck_swapped.png", "caricatures/clean.png",
            "confusion/automobile-truck_swapped.png", "confusion/clean.png", "filters/conv1.png", "happy_maps.png",
            "inversion.png", "sad_maps.png"]
READING_ORDER = ["happy_maps.png", "sad_maps.png", "caricatures/clean.png", "caricatures/automobile-truck_swapped.png",
                 "inversion.png", "filters/conv1.png", "confusion/clean.png", "confusion/automobile-truck_swapped.png"]


def files(folder):
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_vis_models_holds_labels_and_weights_not_ids(blob_study):
    project, weights = blob_study[0], blob_study[1]
    write_params(project, visualize=dict(FAST, pairs=[list(SWAPPED), ["cat", "dog"]]))
    result = run_module(project, "vis_models", check=True)
    assert "no cat/dog model of trial 0" in result.stdout
    with np.load(project / contract.VIS_MODELS) as data:
        assert sorted(data.files) == sorted(["labels", "network"] + [f"w{i}" for i in range(10)])
        assert list(data["labels"]) == ["clean", "automobile/truck swapped"]
        assert json.loads(str(data["network"])) == Network().to_dict()
        for i, stacked in enumerate(weights):
            np.testing.assert_array_equal(data[f"w{i}"], stacked)


def test_vis_models_bytes_do_not_move_when_model_ids_shift(blob_study, tmp_path):
    """A study with one more clean trial puts the swapped model at id 2: the shown models' file is unchanged, so
    DVC would skip visualize."""
    project, weights = blob_study[0], blob_study[1]
    write_params(project, visualize=dict(FAST, pairs=[list(SWAPPED)]))
    run_module(project, "vis_models", check=True)
    shutil.copy(project / "params.yaml", tmp_path / "params.yaml")
    (tmp_path / "data/labels").mkdir(parents=True)
    manifest = pd.read_csv(project / contract.MANIFEST, keep_default_na=False)
    extra = manifest.iloc[:1].assign(trial=1, seed=99)
    grown = pd.concat([manifest.iloc[:1], extra, manifest.iloc[1:]]).assign(model_id=[0, 1, 2])
    grown.to_csv(tmp_path / contract.MANIFEST, index=False)
    other = [np.stack([w[0], w[0] * 0 + 1, w[1]]) for w in weights]  # model 1 differs, models 0 and 2 as before
    network = Network().to_dict()
    contract.write_pack(tmp_path / contract.pack_path(0), contract.Pack(np.array([0, 2]), "test", np.zeros((2, 4, 2)),
                                                                        [w[[0, 2]] for w in other], network=network))
    contract.write_pack(tmp_path / contract.pack_path(1), contract.Pack(np.array([1]), "test", np.zeros((1, 4, 2)),
                                                                        [w[[1]] for w in other], network=network))
    run_module(tmp_path, "vis_models", check=True)
    assert (tmp_path / contract.VIS_MODELS).read_bytes() == (project / contract.VIS_MODELS).read_bytes()


@pytest.mark.slow
def test_stage_writes_every_image_and_an_index_in_reading_order(blob_study):
    project = blob_study[0]
    write_params(project, visualize=dict(FAST, pairs=[list(SWAPPED)]))
    run_module(project, "vis_models", check=True)
    run_module(project, "visualize", check=True)
    vis = project / "plots/vis"
    names = sorted(str(path.relative_to(vis)) for path in vis.rglob("*.png"))
    assert names == EXPECTED
    for name in names:
        pixels = imread(vis / name)
        assert pixels.ndim == 3 and pixels.shape[2] in (3, 4) and min(pixels.shape[:2]) > 60, name
        assert pixels[..., :3].std() > 0.02, name
    conv1 = imread(vis / "filters/conv1.png")
    assert conv1.shape[1] < 3 * conv1.shape[0] * 2  # a compact grid, not one 32-filter row
    page = (vis / "index.html").read_text()
    assert re.findall(r'<img src="([^"]+)"', page) == READING_ORDER  # linked, not embedded, in reading order
    assert "base64" not in page
    captions = re.findall(r"<figcaption>([^<]+)</figcaption>", page)
    assert len(captions) == len(READING_ORDER)
    assert all(len(caption) > 150 and ".png" not in caption for caption in captions)
    assert "never fire" in captions[2] and "dead" in captions[2]
    entries = json.loads((vis / "index.json").read_text())  # the same entries for the report stage
    assert [entry["path"] for entry in entries] == READING_ORDER
    assert [unescape(caption) for caption in captions] == [entry["caption"] for entry in entries]
    assert {None, "clean", f"{SWAPPED[0]}/{SWAPPED[1]} swapped"} <= {entry["model"] for entry in entries}
    assert not [p for p in (project / "plots").iterdir() if p.name.startswith(".")]


@pytest.mark.slow
def test_two_runs_give_identical_bytes(blob_study):
    project = blob_study[0]
    write_params(project, visualize=dict(FAST, pairs=[list(SWAPPED)]))
    run_module(project, "vis_models", check=True)
    runs = []
    for _ in range(2):
        run_module(project, "visualize", check=True)
        runs.append(files(project / "plots/vis"))
    assert sorted(runs[0]) == sorted(EXPECTED + ["index.html", "index.json"])
    assert [name for name in runs[0] if runs[0][name] != runs[1][name]] == []


def test_no_model_available_is_one_error_line(blob_study):
    project = blob_study[0]
    write_params(project, visualize=dict(FAST, trial=5))
    result = run_module(project, "vis_models")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "error: none of the models visualize.pairs and visualize.trial ask for is in data/labels/manifest.csv")
    assert not (project / contract.VIS_MODELS).exists()
    write_params(project, visualize=dict(FAST, trial=0))  # leave the shared project as the other tests expect it


def test_visualize_without_the_shown_models_is_one_error_line(blob_study, tmp_path):
    shutil.copytree(blob_study[0] / "data/labels", tmp_path / "data/labels")
    shutil.copy(blob_study[0] / contract.dataset_file("cifar10"), tmp_path / "data/cifar10.npz")
    write_params(tmp_path, visualize=FAST)
    result = run_module(tmp_path, "visualize")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "error: data/vis/models.npz is missing: run the earlier stages first (dvc repro vis_models)")
    assert not (tmp_path / "plots/vis").exists()
