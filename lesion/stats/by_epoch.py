"""Effects over training: the additive lesion model (lesion.stats.lesion_model) fitted to the per-class test
results after each epoch the train stage evaluated, so a reader sees whether an effect grows slowly out of noise
or appears at once."""

import pandas as pd

from lesion.contract import EFFECTS_BY_EPOCH_COLUMNS as COLUMNS
from lesion.stats.lesion_model import lesion_effects
from lesion.study import Study


def effects_by_epoch(manifest, per_class_epochs, params):
    """lesion_effects of every evaluated epoch (additive inference; `params` the stats section), one long table."""
    tables = []
    for epoch, rows in per_class_epochs.groupby("epoch", sort=True):
        effects = lesion_effects(Study(manifest, rows.drop(columns="epoch").reset_index(drop=True)), params)
        tables.append(effects.assign(epoch=int(epoch))[COLUMNS])
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=COLUMNS)
