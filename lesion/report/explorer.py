"""The data behind the report's interactive views, as one JSON document the page's script reads.

The pair view shows, for the clean baseline and each swapped pair, its models' per-class accuracy and
log-likelihood against the clean baseline, one model's confusion matrix (the model of visualize.trial, the one the
visualize stage draws) whose cells list their most confident test images (data/eval/cells.npz), the pair's mean
confusion counts minus the clean models' and the gallery images of that model. The effects view is every row of
the statistics' tables. Test images are embedded once, as one sprite sheet; the JSON refers to them by position.
"""

import base64
import io
import json

import numpy as np
from PIL import Image

from lesion.featvis.selection import pair_label
from lesion.study import CLEAN

SPRITE_COLUMNS = 64  # images per row of the sprite sheet
SPRITE_SCALE = 2  # screen pixels per image pixel, each way, of a shown test image
DIGITS = 4  # significant digits of every number in the JSON: what a reader can see, and stable bytes

# Each family of effects: its table, the columns of its estimate, interval, t, p and FDR-adjusted p, its figure.
FAMILIES = {
    "specific": ("lesion", ("specific_bits", "specific_lo", "specific_hi", "specific_t", "specific_p",
                            "specific_p_fdr"), "bits", "specific_heatmap.png"),
    "vs clean": ("lesion", ("effect_bits", "effect_lo", "effect_hi", "effect_t", "effect_p", "effect_p_fdr"), "bits",
                 "forest.png"),
    "contrast": ("lesion", ("contrast_bits", None, None, "contrast_t", "contrast_p", "contrast_p_fdr"), "bits",
                 "t_heatmap.png"),
    "Welch": ("welch", ("g", "g_lo", "g_hi", "t", "p", "p_fdr"), "Hedges' g", "t_heatmap.png"),
    "clean baseline": ("vs_clean", ("g", "g_lo", "g_hi", "t", "p", "p_fdr"), "Hedges' g", "loglik.png"),
}
FAMILY_MEANINGS = {
    "specific": "what losing the confused class costs the target beyond a typical lesion (additive lesion model)",
    "vs clean": "the lesion's effect against a network that learned every class (lesion model)",
    "contrast": "the lesion model's form of the paper's contrast",
    "Welch": "the paper's Welch contrast: models that lost the confused class against those that lost another pair",
    "clean baseline": "clean models against swap models whose pair lacks the target",
}


def rounded(value):
    """A number with DIGITS significant digits; None for NaN (JSON has no NaN)."""
    value = float(value)
    return None if not np.isfinite(value) else float(f"{value:.{DIGITS}g}")


def shown_models(study, trial):
    """(condition, model id) of the clean baseline and every swapped pair, in the manifest's order of first
    appearance: the condition's model of `trial` where it has one, else its first model."""
    manifest, shown = study.manifest, {}
    for condition in dict.fromkeys(study.conditions):
        models = manifest[study.conditions == condition]
        of_trial = models[models.trial == trial]
        shown[condition] = int((of_trial if len(of_trial) else models).model_id.iloc[0])
    return shown


SUMMARIZED = ("accuracy", "loglik_bits")  # the per_class.csv columns the pair view compares


def class_summaries(values, rows):
    """Per class, the mean, standard deviation and count of each SUMMARIZED column over the models `rows` marks;
    `values` holds each column as a models x classes array (Study.values)."""
    summary = {}
    for column in SUMMARIZED:
        chosen = values[column][rows]
        sd = chosen.std(axis=0, ddof=1) if len(chosen) > 1 else np.full(chosen.shape[1], np.nan)
        summary[column] = {"mean": [rounded(v) for v in chosen.mean(axis=0)], "sd": [rounded(v) for v in sd]}
    summary["n"] = int(rows.sum())
    return summary


class Sprites:
    """The test images the views show, each once, placed on a sprite sheet in the order first asked for."""

    def __init__(self, x_test):
        self.x_test, self.slots = x_test, {}
        # Each image's tile: its height and width up to whole 8-pixel JPEG blocks, so no block holds two images.
        self.pitch = [-(-size // 8) * 8 for size in x_test.shape[1:3]]

    def slot(self, index):
        return self.slots.setdefault(int(index), len(self.slots))

    def sheet(self):
        """The sprite sheet as a data URI (SPRITE_COLUMNS images a row), or None if empty: PNG or JPEG, whichever is
        smaller (JPEG at quality 90 without chroma subsampling for photographs, a quarter of the PNG's size; PNG for
        digits and other flat images), each image at the top left of its `pitch` tile."""
        if not self.slots:
            return None
        images = self.x_test[list(self.slots)]
        if images.shape[-1] == 1:
            images = np.repeat(images, 3, axis=-1)
        rows = -(-len(images) // SPRITE_COLUMNS)
        (height, width), (pitch_y, pitch_x) = images.shape[1:3], self.pitch
        tiles = np.zeros((rows * SPRITE_COLUMNS, pitch_y, pitch_x, 3), np.uint8)
        tiles[: len(images), :height, :width] = images
        sheet = tiles.reshape(rows, SPRITE_COLUMNS, pitch_y, pitch_x, 3).swapaxes(1, 2).reshape(
            rows * pitch_y, SPRITE_COLUMNS * pitch_x, 3)
        encodings = [encoded(sheet, "PNG", optimize=True), encoded(sheet, "JPEG", quality=90, subsampling=0)]
        return data_uri(*min(encodings, key=lambda encoding: len(encoding[0])))


def encoded(pixels, image_format, **options):
    """(bytes, MIME type) of an RGB array in `image_format`."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=image_format, **options)
    return buffer.getvalue(), f"image/{image_format.lower()}"


def data_uri(image, mime="image/png"):
    return f"data:{mime};base64," + base64.b64encode(image).decode("ascii")


def confusion_cells(cells, model, sprites):
    """One model's confusion matrix: counts [true][predicted] and each cell's top images as [sprite slot,
    probability], most confident first (the sprite's `indices` give each slot's test image)."""
    count, index, prob = (cells[name][model] for name in ("count", "top_index", "top_prob"))
    top = [[[[sprites.slot(i), rounded(p)] for i, p in zip(index[t, q], prob[t, q]) if i >= 0]
            for q in range(count.shape[1])] for t in range(count.shape[0])]
    return {"count": count.tolist(), "top": top}


def mean_counts(cells, rows):
    """The mean confusion counts (true x predicted) over the models `rows` marks."""
    return cells["count"][rows].mean(axis=0)


def condition_views(study, cells, trial, sprites, pictures):
    """Every condition's data: its label, pair, class summaries, shown model, its cells and the contrast of its
    mean counts with the clean models' (None for the clean baseline, or without clean models)."""
    clean = mean_counts(cells, study.clean) if study.clean.any() else None
    values = {column: study.values(column) for column in SUMMARIZED}  # each pivoted once, not once per condition
    views = []
    for condition, model in shown_models(study, trial).items():
        pair = None if condition == CLEAN else condition.split("/")
        rows = study.conditions == condition
        contrast = None
        if pair is not None and clean is not None:
            contrast = np.round(mean_counts(cells, rows) - clean, 2).tolist()  # counts: hundredths suffice
        views.append({"condition": condition, "pair": pair, "model": model,
                      "trial": int(study.manifest.trial.iloc[model]), "classes": class_summaries(values, rows),
                      "cells": confusion_cells(cells, model, sprites), "contrast": contrast,
                      "pictures": pictures.get(condition, [])})
    return views


EFFECT_FIELDS = ["family", "target", "confused", "estimate", "unit", "lo", "hi", "t", "p", "p_fdr", "significant",
                 "figure"]


def effect_rows(tables, alpha):
    """Every effect of the statistics as rows of one table (EFFECT_FIELDS): family, target, confused, estimate with
    its unit and 95% interval, t, p, FDR-adjusted p, whether significant at `alpha`, and the figure that shows it."""
    rows = []
    for family, (table, columns, unit, figure) in FAMILIES.items():
        for record in tables[table].to_dict("records"):
            estimate, lo, hi, t, p, p_fdr = (record[c] if c else np.nan for c in columns)
            if not np.isfinite(estimate):  # an effect the design does not identify
                continue
            rows.append({"family": family, "target": record["target"],
                         "confused": record.get("confused") or "", "estimate": rounded(estimate), "unit": unit,
                         "lo": rounded(lo), "hi": rounded(hi), "t": rounded(t), "p": rounded(p),
                         "p_fdr": rounded(p_fdr), "significant": bool(np.isfinite(p_fdr) and p_fdr < alpha),
                         "figure": figure})
    return rows


def model_pictures(gallery, conditions):
    """The gallery's images of one model (entries of plots/vis/index.json with their `png`), by the condition of
    that model: "clean", or the pair its label (featvis.selection.pair_label) names in either order."""
    by_label = {CLEAN: CLEAN}
    for condition in conditions - {CLEAN}:
        a, b = condition.split("/")
        by_label.update({pair_label(a, b): condition, pair_label(b, a): condition})
    pictures = {}
    for entry in gallery:
        condition = by_label.get(entry["model"])
        if condition is not None:
            pictures.setdefault(condition, []).append({"heading": entry["heading"], "caption": entry["caption"],
                                                       "picture": data_uri(entry["png"])})
    return pictures


def explorer_data(study, cells, x_test, trial, tables, alpha, gallery, figures):
    """The JSON document of the interactive views and the sprite sheet's data URI. `tables`: the stats' tables by
    FAMILIES' names; `gallery`: the visualize stage's entries of one model each; `figures`: the names of the
    embedded figures (an effect links its figure only where it exists)."""
    sprites = Sprites(x_test)
    pictures = model_pictures(gallery, set(study.conditions))
    views = condition_views(study, cells, trial, sprites, pictures)
    effects = [[row[field] if field != "figure" or row[field] in figures else None for field in EFFECT_FIELDS]
               for row in effect_rows(tables, alpha)]  # rows of values, the field names once
    height, width = x_test.shape[1:3]
    document = {"classes": list(study.classes), "alpha": alpha, "views": views,
                "effects": {"fields": EFFECT_FIELDS, "rows": effects}, "families": FAMILY_MEANINGS,
                "sprite": {"columns": SPRITE_COLUMNS, "scale": SPRITE_SCALE, "width": width, "height": height,
                           "pitch": sprites.pitch,
                           "count": len(sprites.slots), "indices": list(sprites.slots)}}
    return document, sprites.sheet()


def script_json(document):
    """The document as JSON safe inside a <script> element (no '</' can close it)."""
    return json.dumps(document, separators=(",", ":"), sort_keys=True).replace("</", "<\\/")
