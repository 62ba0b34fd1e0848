"""Multiple-testing adjustment against hand computations."""

import numpy as np

from lesion.stats.significance import adjust


def test_holm_and_bh_hand_computed():
    p = [0.01, 0.04, np.nan, 0.03, 0.005]
    # sorted 0.005, 0.01, 0.03, 0.04 over m = 4 finite tests; the NaN is not counted.
    # Holm: x4, x3, x2, x1 = 0.02, 0.03, 0.06, 0.04 -> running max 0.02, 0.03, 0.06, 0.06
    np.testing.assert_allclose(adjust(p, "holm"), [0.03, 0.06, np.nan, 0.06, 0.02])
    # BH: x4/1, x4/2, x4/3, x4/4 = 0.02, 0.02, 0.04, 0.04 -> running min from the top, unchanged
    np.testing.assert_allclose(adjust(p, "bh"), [0.02, 0.04, np.nan, 0.04, 0.02])
    np.testing.assert_allclose(adjust([0.5, 0.9], "holm"), [1.0, 1.0])
    assert np.isnan(adjust([np.nan], "bh")).all()
