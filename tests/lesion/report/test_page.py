"""The report's tables of many rows keep the strongest, in their order, and say how many were left out; the reading
guide's share of a contrast that one strong effect moves follows the class count."""

import re

import numpy as np
import pandas as pd
import pytest

from lesion.report import page
from lesion.stats.welch import welch_tests
from tests.fixtures.cifar import CLASS_NAMES
from tests.fixtures.study import SUPERCLASSES, planted_study


def cells(html, column):
    """The `column`-th cell of every body row of an HTML table, as text."""
    return [re.findall(r"<td[^>]*>([^<]*)</td>", row)[column] for row in re.findall(r"<tr>(.*?)</tr>", html)
            if "<td" in row]


def test_a_long_table_keeps_its_strongest_rows_in_order_and_counts_the_rest():
    t = np.random.default_rng(0).normal(0, 3, 40)
    rows = pd.DataFrame({"target": [f"class_{i:02d}" for i in range(40)], "t": t})
    html = page.capped_table(rows, ["target", "t"], "t", "metrics/welch.csv")
    strongest = set(np.argsort(-np.abs(t))[:page.TABLE_ROWS])
    assert cells(html, 0) == [f"class_{i:02d}" for i in range(40) if i in strongest]  # the table's own order
    assert (f"The {page.TABLE_ROWS} rows largest in |t| of 40; the {40 - page.TABLE_ROWS} others are left out here, "
            "all are in metrics/welch.csv.") in html


def test_a_short_table_is_whole_and_says_nothing_more():
    rows = pd.DataFrame({"target": ["a", "b"], "t": [1.0, -2.0]})
    html = page.capped_table(rows, ["target", "t"], "t", "metrics/welch.csv")
    assert cells(html, 0) == ["a", "b"] and "left out" not in html


@pytest.mark.parametrize("classes", [CLASS_NAMES, SUPERCLASSES[:12]], ids=["10_classes", "12_classes"])
def test_the_reading_guide_says_how_far_one_strong_effect_moves_the_other_contrasts(classes):
    """Noise-free, every pair lesioned: learning X helps T by 0.8 bits and nothing else matters; every other Welch
    contrast of T's row then moves by 1/(n - 2) of 0.8 the other way, as the guide says."""
    n = len(classes)
    effects = np.zeros((n, n))
    effects[0, 1] = 0.8
    welch = welch_tests(planted_study(effects, trials=2, clean_trials=2, sd=0.0, classes=classes),
                        {"seed": 0, "bootstrap": 2})
    others = welch[(welch.target == classes[0]) & (welch.confused != classes[1])]
    np.testing.assert_allclose(others.mean_b - others.mean_a, -0.8 / (n - 2), atol=1e-12)
    assert f"by about 1/{n - 2} of its size when all pairs of the {n} classes" in page.how_to_read(n)
