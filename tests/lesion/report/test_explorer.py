"""The report's view data: which model each condition shows, the sprite sheet's encoding, safe JSON."""

import base64
import io
import json

import numpy as np
import pandas as pd
from PIL import Image
from scipy.ndimage import gaussian_filter

from lesion.report.explorer import Sprites, rounded, script_json, shown_models
from lesion.study import Study
from tests.fixtures.study import make_manifest, make_per_class


def decoded(uri):
    mime, data = uri.split(";base64,")
    return mime.removeprefix("data:"), np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))


def test_each_condition_shows_its_model_of_the_trial_or_else_its_first():
    manifest = make_manifest(trials=2, clean_trials=3, pairs=[("cat", "dog"), ("automobile", "truck")])
    manifest = manifest[~((manifest.class_a == "cat") & (manifest.trial == 1))].reset_index(drop=True)
    manifest["model_id"] = np.arange(len(manifest))
    study = Study(manifest, make_per_class(manifest))
    shown = shown_models(study, trial=1)
    assert list(shown) == ["clean", "cat/dog", "automobile/truck"]
    for condition, model in shown.items():
        rows = manifest[study.conditions == condition]
        expected = rows[rows.trial == 1].model_id if (rows.trial == 1).any() else rows.model_id
        assert model == expected.iloc[0]
    assert manifest.trial[shown["cat/dog"]] == 0  # the pair has no model of trial 1


def test_photographs_go_to_jpeg_and_flat_images_to_lossless_png():
    rng = np.random.default_rng(0)  # smooth shapes with sensor noise, as photographs have
    smooth = gaussian_filter(rng.normal(0, 1, (70, 32, 32, 3)), (0, 3, 3, 0))
    smooth = np.clip(128 + 60 * smooth / smooth.std() + rng.normal(0, 4, smooth.shape), 0, 255).astype(np.uint8)
    sprites = Sprites(smooth)
    for index in [5, 69, 5, 0]:
        sprites.slot(index)
    assert sprites.slots == {5: 0, 69: 1, 0: 2}  # each image once, in the order first asked for
    mime, sheet = decoded(sprites.sheet())
    assert mime == "image/jpeg" and sheet.shape == (32, 64 * 32, 3)
    assert np.abs(sheet[:, 32:64].astype(float) - smooth[69]).mean() < 5
    digits = np.zeros((3, 28, 28, 1), np.uint8)
    digits[:, 8:20, 12:16] = 255
    flat = Sprites(digits)
    flat.slot(2)
    mime, sheet = decoded(flat.sheet())
    assert mime == "image/png" and sheet.shape == (32, 64 * 32, 3)  # 28-pixel images on 32-pixel tiles
    assert (sheet[:28, :28] == digits[2].repeat(3, axis=-1)).all() and not sheet[28:].any() and not sheet[:, 28:].any()
    assert Sprites(digits).sheet() is None


def test_numbers_and_json_are_safe_in_the_page():
    assert rounded(np.float32(0.123456)) == 0.1235 and rounded(float("nan")) is None and rounded(2e-9) == 2e-9
    text = script_json({"caption": "a </script> inside", "value": 1})
    assert "</" not in text and json.loads(text) == {"caption": "a </script> inside", "value": 1}
    assert pd.isna(rounded(np.inf)) or rounded(np.inf) is None
