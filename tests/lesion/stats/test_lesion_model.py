"""The additive lesion model against planted truths and independent computations: exact recovery without noise,
HC3 by hand, the Welch contrast as a linear function of the fit, interactions, KL and a missing baseline."""

import math

import numpy as np
import pytest
import statsmodels.api as sm

from lesion.stats import lesion_model as lm
from lesion.stats.welch import welch_tests
from lesion.study import Study
from tests.fixtures.cifar import CLASS_NAMES
from tests.fixtures.study import make_manifest, make_mean_prob, make_per_class, planted_study

PARAMS = {"alpha": 0.05, "seed": 0, "null_draws": 500, "permutations": 200, "bootstrap": 50}


def by_pair(table):
    return table.set_index(["target", "confused"])


def test_noise_free_recovery_of_every_planted_effect():
    rng = np.random.default_rng(4)
    effects = rng.uniform(-0.1, 0.1, (10, 10)) * (1 - np.eye(10))
    table = by_pair(lm.lesion_effects(planted_study(effects, trials=2, clean_trials=3, sd=0.0), PARAMS))
    for t, target in enumerate(CLASS_NAMES):
        for c, confused in enumerate(CLASS_NAMES):
            if c == t:
                continue
            others = [effects[t, x] for x in range(10) if x not in (t, c)]
            row = table.loc[(target, confused)]
            assert row.effect_bits == pytest.approx(effects[t, c], abs=1e-9)
            assert row.specific_bits == pytest.approx(effects[t, c] - np.median(others), abs=1e-9)


def test_hc3_standard_errors_by_hand():
    """The HC3 sandwich written out (X'X)^-1 X' diag(e^2 / (1 - h)^2) X (X'X)^-1, for one row of a small study."""
    manifest = make_manifest(trials=3, clean_trials=4)
    study = Study(manifest, make_per_class(manifest, seed=2))
    target = CLASS_NAMES.index("automobile")
    models = [m for m in range(len(manifest)) if manifest.kind[m] == "clean" or
              "automobile" not in (manifest.class_a[m], manifest.class_b[m])]
    others = [c for c in CLASS_NAMES if c != "automobile"]
    X = np.array([[1.0] + [float(c in (manifest.class_a[m], manifest.class_b[m])) for c in others] for m in models])
    y = study.values("loglik_bits")[models, target]
    bread = np.linalg.inv(X.T @ X)
    residual = y - X @ (bread @ X.T @ y)
    leverage = np.einsum("ij,jk,ik->i", X, bread, X)
    sandwich = bread @ (X.T * (residual**2 / (1 - leverage) ** 2)) @ X @ bread
    table = by_pair(lm.lesion_effects(study, PARAMS)).loc["automobile"]
    np.testing.assert_allclose(table.loc[others, "effect_se"], np.sqrt(np.diag(sandwich))[1:], rtol=1e-10)
    np.testing.assert_allclose(table.loc[others, "effect_bits"], -(bread @ X.T @ y)[1:], rtol=1e-10)
    R = np.eye(10)[1:]
    expected = sm.OLS(y, X).fit(cov_type="HC3").f_test(R).fvalue
    assert lm.hc3_wald_f(X, y[:, None], R)[0] == pytest.approx(float(np.squeeze(expected)), rel=1e-10)


@pytest.mark.parametrize("drop", [0, 17], ids=["balanced", "unbalanced"])
def test_contrast_is_the_welch_difference(drop):
    manifest = make_manifest(trials=4, clean_trials=3)
    manifest = manifest.iloc[: len(manifest) - drop].reset_index(drop=True)
    study = Study(manifest, make_per_class(manifest, seed=5))
    welch = by_pair(welch_tests(study, {"seed": 0, "bootstrap": 2}))
    table = by_pair(lm.lesion_effects(study, PARAMS))
    difference = welch.mean_b - welch.mean_a
    assert np.abs(table.contrast_bits - difference.loc[table.index]).max() < 1e-12


def test_a_planted_pair_interaction_is_found_and_switches_to_cell_inference():
    effects = np.zeros((10, 10))
    study = planted_study(effects, trials=6, clean_trials=6, sd=0.02, seed=1,
                          interaction=("dog", "bird", "frog", 0.12))
    effects_table, rows, interactions, pooled = lm.lesion_model(study, PARAMS)
    assert pooled["inference"] == "cell" and pooled["lack_of_fit_p"] < 0.01
    assert (effects_table.inference == "cell").all()
    strongest = interactions.sort_values("p").iloc[0]
    assert (strongest.target, strongest.class_a, strongest.class_b) == ("dog", "bird", "frog")
    assert strongest.interaction_bits == pytest.approx(0.12, abs=0.03) and strongest.p_fdr < 1e-6
    assert (interactions.p_fdr < 0.05).sum() == 1
    dog = rows.set_index("target").loc["dog"]
    assert dog.lof_p < 1e-6 and dog.lof_F > rows.set_index("target").drop("dog").lof_F.max()
    assert dog.n_cells == 37 and dog.n_clean == 6 and dog.n_swap == 36 * 6
    additive = by_pair(lm.lesion_effects(study, PARAMS))
    cell = by_pair(effects_table)
    assert (cell.loc["dog"].effect_se > additive.loc["dog"].effect_se).all()  # inflated by sqrt(F) of the row
    assert (cell.effect_df == 37 - 10).all()


def test_without_an_interaction_the_model_stays_additive():
    study = planted_study(np.zeros((10, 10)), trials=6, clean_trials=6, sd=0.02, seed=3)
    _, rows, interactions, pooled = lm.lesion_model(study, PARAMS)
    assert pooled["inference"] == "additive" and pooled["lack_of_fit_p"] > 0.05
    assert (rows.omnibus_p_perm > 0.01).mean() > 0.7  # nothing to find in most rows


def test_omnibus_finds_the_row_with_an_effect():
    effects = np.zeros((10, 10))
    effects[CLASS_NAMES.index("cat"), CLASS_NAMES.index("dog")] = 0.05
    rows = lm.lesion_model(planted_study(effects, trials=4, clean_trials=6, sd=0.02, seed=2), PARAMS)[1]
    cat = rows.set_index("target").loc["cat"]
    assert cat.omnibus_p < 1e-6 and cat.omnibus_p_perm == pytest.approx(1 / (1 + PARAMS["permutations"]))
    assert cat.omnibus_df_num == 9 and cat.clean_mean == pytest.approx(-0.3, abs=0.02)


def mean_prob_with_effect(study, target, confused, toward):
    """Mean predicted distributions on each class's images (60% on the true class); on T's images, models that
    lost `confused` move 30% of their mass toward class `toward` (confused: learning it helped T; T: it hurt)."""
    mean_prob = make_mean_prob(study.manifest, seed=1).astype(float) * 0.4 + 0.6 * np.eye(10)[None]
    lost = study.in_pair[:, CLASS_NAMES.index(confused)]
    t = CLASS_NAMES.index(target)
    mean_prob[lost, :, t] = 0.7 * mean_prob[lost, :, t] + 0.3 * np.eye(10)[CLASS_NAMES.index(toward)]
    return mean_prob


def test_kl_is_near_zero_without_an_effect_and_signed_with_one():
    study = planted_study(np.zeros((10, 10)), trials=4, clean_trials=6, sd=0.02)
    table = by_pair(lm.lesion_kl(study, mean_prob_with_effect(study, "truck", "automobile", "automobile"), PARAMS))
    helped = table.loc[("truck", "automobile")]
    assert helped.kl_bits > 0.1 and helped.kl_excess > 0.1 and helped.signed_binary_kl_bits > 0.05
    assert table.drop(("truck", "automobile")).kl_bits.max() < 0.05 * helped.kl_bits
    # Rows without any effect: the observed KL is what shuffling the conditions gives. (In truck's row the
    # shuffles spread automobile's real effect over every class, so its null is no null there.)
    assert np.abs(table.drop("truck", level=0).kl_excess).max() < 0.05 * helped.kl_excess
    hurt = by_pair(lm.lesion_kl(study, mean_prob_with_effect(study, "truck", "automobile", "truck"), PARAMS))
    hurt = hurt.loc[("truck", "automobile")]
    assert hurt.signed_binary_kl_bits < -0.001 and hurt.kl_excess > 0


def test_without_clean_models_only_the_specific_effect_and_the_contrast_are_reported():
    manifest = make_manifest(trials=3, clean_trials=0)
    study = Study(manifest, make_per_class(manifest))
    effects, rows, _, _ = lm.lesion_model(study, PARAMS)
    assert effects.effect_bits.isna().all() and effects.effect_p_fdr.isna().all()
    assert effects.specific_bits.notna().all() and effects.contrast_bits.notna().all()
    helps = by_pair(effects).loc[("automobile", "truck")]
    assert helps.specific_bits == pytest.approx(0.1, abs=0.02) and helps.specific_p_fdr < 1e-6
    assert rows.clean_mean.isna().all() and rows.omnibus_F.isna().all()
    assert by_pair(lm.lesion_kl(study, make_mean_prob(manifest), PARAMS)).kl_bits.isna().all()


def test_classes_never_lesioned_apart_give_nan_not_numbers():
    """Two pairs only: cat and dog are always lesioned together, so neither effect is identified on its own."""
    manifest = make_manifest(trials=3, clean_trials=3, pairs=[("cat", "dog"), ("automobile", "truck")])
    effects = by_pair(lm.lesion_effects(Study(manifest, make_per_class(manifest)), PARAMS))
    assert math.isnan(effects.loc[("airplane", "cat")].effect_bits)
    assert math.isnan(effects.loc[("airplane", "bird")].effect_bits)  # bird is never lesioned
    assert np.isfinite(effects.loc[("airplane", "cat")].contrast_bits)  # the Welch difference still is


def one_strong_effect_per_row(units=10.0, trials=8, sd=0.02):
    """Effects of `units` units on (T, T+1): a unit is the effect a lone Welch test sees at t = 3."""
    unit = 3 * sd * math.sqrt(1 / (8 * trials) + 1 / (28 * trials))
    effects = np.zeros((10, 10))
    effects[np.arange(10), (np.arange(10) + 1) % 10] = units * unit
    return effects


def false_discovery(significant, true):
    return (significant & ~true).sum() / max(1, significant.sum())


@pytest.mark.slow
def test_error_rates_with_one_strong_effect_per_row():
    effects = one_strong_effect_per_row()
    rates = {family: [] for family in ("effect", "specific")}
    fdp = {family: [] for family in ("effect", "specific", "welch")}
    coverage = {family: [] for family in ("effect", "specific")}
    for study_seed in range(100):
        study = planted_study(effects, trials=8, clean_trials=20, sd=0.02, seed=100 + study_seed)
        table = by_pair(lm.lesion_effects(study, dict(PARAMS, null_draws=300, seed=study_seed)))
        welch = by_pair(welch_tests(study, {"seed": 0, "bootstrap": 2})).loc[table.index]
        truth = np.array([effects[CLASS_NAMES.index(t), CLASS_NAMES.index(c)] for t, c in table.index])
        specific_truth = np.array([
            truth[i] - np.median([effects[CLASS_NAMES.index(t), x] for x in range(10)
                                  if x not in (CLASS_NAMES.index(t), CLASS_NAMES.index(c))])
            for i, (t, c) in enumerate(table.index)])
        for family, true_value in (("effect", truth), ("specific", specific_truth)):
            null = true_value == 0
            rates[family].append((table[f"{family}_p"][null] < 0.05).mean())
            fdp[family].append(false_discovery((table[f"{family}_p_fdr"] < 0.05).to_numpy(), ~null))
            covered = (table[f"{family}_lo"] <= true_value) & (true_value <= table[f"{family}_hi"])
            coverage[family].append(covered.mean())
        fdp["welch"].append(false_discovery((welch.p_fdr < 0.05).to_numpy(), truth != 0))
    for family in ("effect", "specific"):
        assert 0.035 <= np.mean(rates[family]) <= 0.065, (family, np.mean(rates[family]))
        assert np.mean(fdp[family]) <= 0.08, (family, np.mean(fdp[family]))
        assert np.mean(coverage[family]) >= 0.85, (family, np.mean(coverage[family]))
    assert np.mean(fdp["welch"]) > 0.5, np.mean(fdp["welch"])
