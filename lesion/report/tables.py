"""Long-form tables for DVC's own plot templates (plots/data): every effect's t, mean accuracy per class and
condition."""

import numpy as np
import pandas as pd

from lesion import contract
from lesion.report.figures import by_condition


def plot_data(study, welch, lesion_effects):
    """Long-form tables for DVC's templates: every effect's Welch t and specific effect in bits, and mean accuracy
    per class and condition."""
    effects = welch.dropna(subset=["t"])[["target", "confused", "t", "p_fdr"]].copy()
    effects.insert(2, "effect", effects.target + "<-" + effects.confused)
    contract.write_table(contract.EFFECTS, effects)
    specific = lesion_effects.dropna(subset=["specific_bits"])[
        ["target", "confused", "specific_bits", "specific_lo", "specific_hi", "specific_p_fdr", "effect_bits"]].copy()
    specific.insert(2, "effect", specific.target + "<-" + specific.confused)
    contract.write_table(contract.SPECIFIC_EFFECTS, specific)
    rows = [(name, condition, f"{name}: {condition}", values.mean() if len(values) else np.nan)
            for (name, condition), values in by_condition(study, "accuracy").items()]
    table = pd.DataFrame(rows, columns=["class", "condition", "bar", "accuracy"])
    contract.write_table(contract.CLASS_ACCURACY, table)
