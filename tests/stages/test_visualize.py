"""Stage `visualize`: writes every PNG of the gallery for real trained models; no model to show is one error."""

import pytest
from matplotlib.image import imread

from tests.conftest import run_module, write_params
from tests.fixtures.blobs import SWAPPED

FAST = {"steps": 24, "restarts": 2, "images": 2, "linear_epochs": 1, "dpi": 40}
EXPECTED = ["caricatures/automobile-truck_swapped.png", "caricatures/clean.png",
            "confusion/automobile-truck_swapped.png", "confusion/clean.png", "deep_dream.png", "filters/conv1.png",
            "filters/linear_classifier.png", "happy_maps.png", "inversion.png", "sad_maps.png"]


@pytest.mark.slow
def test_stage_writes_every_image(blob_study):
    project = blob_study[0]
    write_params(project, visualize=dict(FAST, pairs=[list(SWAPPED), ["cat", "dog"]]))
    result = run_module(project, "visualize", check=True)
    assert "no cat/dog model of trial 0" in result.stdout
    vis = project / "plots/vis"
    names = sorted(str(path.relative_to(vis)) for path in vis.rglob("*.png"))
    assert names == EXPECTED
    for name in names:
        pixels = imread(vis / name)
        assert pixels.ndim == 3 and pixels.shape[2] in (3, 4) and min(pixels.shape[:2]) > 60, name
        assert pixels[..., :3].std() > 0.02, name
    assert not [p for p in (project / "plots").iterdir() if p.name.startswith(".")]


def test_no_model_available_is_one_error_line(blob_study):
    project = blob_study[0]
    write_params(project, visualize=dict(FAST, trial=5))
    result = run_module(project, "visualize")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "error: none of the models visualize.pairs and visualize.trial ask for is in data/labels/manifest.csv")
    assert not (project / "plots/vis").exists()
