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
from tests.fixtures.study import make_manifest, make_mean_prob, make_per_class, pairs_with_a_triangle, planted_study

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


def test_hc3_wald_f_of_many_responses_a_few_at_a_time(monkeypatch):
    """Each response's F is statsmodels' for that response alone, whether the products run in one piece or two
    responses at a time."""
    rng = np.random.default_rng(3)
    X = np.column_stack([np.ones(40), rng.integers(0, 2, (40, 3))]).astype(float)
    Y, R = rng.normal(size=(40, 7)), np.eye(4)[1:]
    expected = [float(np.squeeze(sm.OLS(Y[:, j], X).fit(cov_type="HC3").f_test(R).fvalue)) for j in range(7)]
    np.testing.assert_allclose(lm.hc3_wald_f(X, Y, R), expected, rtol=1e-10)
    monkeypatch.setattr(lm, "MATMUL_BYTES", 2 * 8 * X.size)
    np.testing.assert_allclose(lm.hc3_wald_f(X, Y, R), expected, rtol=1e-10)


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
    # independently: statsmodels' OLS of dog's row on its intercept, indicators and the (bird, frog) column
    manifest = study.manifest
    models = ((manifest.kind == "clean") | ((manifest.class_a != "dog") & (manifest.class_b != "dog"))).to_numpy()
    others = [c for c in CLASS_NAMES if c != "dog"]
    design = np.column_stack([np.ones(models.sum())] + [study.in_pair[models, CLASS_NAMES.index(c)] for c in others]
                             + [((manifest.class_a == "bird") & (manifest.class_b == "frog")).to_numpy()[models]])
    by_statsmodels = sm.OLS(study.values("loglik_bits")[models, CLASS_NAMES.index("dog")], design.astype(float)).fit()
    assert strongest.interaction_bits == pytest.approx(by_statsmodels.params[-1], rel=1e-9)
    assert strongest.se == pytest.approx(by_statsmodels.bse[-1], rel=1e-9)
    assert strongest.df == by_statsmodels.df_resid and strongest.p == pytest.approx(by_statsmodels.pvalues[-1])
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


SPARSE_CLASSES = [f"class_{i:02d}" for i in range(30)]
TARGET, PLANTED, NEVER = "class_03", "class_24", "class_10"


@pytest.fixture(scope="module")
def sparse():
    """30 classes, 12 of their 435 pairs (a triangle of classes 0, 1, 2 and 9 drawn at random: 17 classes are never
    lesioned, class 24 only beside classes 8 and 17), one planted effect (learning class 24 helps class 3 by 0.05
    bits), and the lesion model's fit."""
    effects = np.zeros((30, 30))
    effects[SPARSE_CLASSES.index(TARGET), SPARSE_CLASSES.index(PLANTED)] = 0.05
    study = planted_study(effects, trials=8, clean_trials=10, sd=0.02, seed=6, classes=SPARSE_CLASSES,
                          pairs=pairs_with_a_triangle(SPARSE_CLASSES, 9))
    return study, lm.lesion_model(study, PARAMS)


def test_a_planted_effect_in_a_sparse_design_is_recovered_within_its_interval(sparse):
    _, (effects, _, _, _) = sparse
    assert len(effects) == 30 * 29
    planted = by_pair(effects).loc[(TARGET, PLANTED)]
    for family in ("effect", "specific"):  # every other effect of the row is 0, so the specific one is 0.05 too
        assert planted[f"{family}_lo"] < 0.05 < planted[f"{family}_hi"], family
        significant = effects[effects[f"{family}_p_fdr"] < 0.05]
        assert list(zip(significant.target, significant.confused)) == [(TARGET, PLANTED)], family


def test_a_never_lesioned_class_has_no_column_and_nan_effects(sparse):
    study, (effects, _, _, _) = sparse
    never = effects[effects.confused == NEVER]
    numbers = [f"{family}_{field}" for family in ("effect", "specific", "contrast") for field in ("bits", "se", "p")]
    assert len(never) == 29 and never[numbers].isna().all().all() and (never.n_lesioned == 0).all()
    for t in range(30):
        row = lm.row_design(study, t, study.values("loglik_bits")[:, t])
        names = [SPARSE_CLASSES[c] for c, kept in zip(row.others, row.lesioned) if kept]
        assert NEVER not in names and row.indicators.any(axis=0).all()  # no all-zero column
    kl = by_pair(lm.lesion_kl(study, make_mean_prob(study.manifest, n_classes=30), PARAMS))
    assert kl.xs(NEVER, level="confused").kl_bits.isna().all()


def test_design_sizes_equal_an_independent_count(sparse):
    """Models: clean ones and those whose pair lacks the target; indicators: the classes those pairs hold;
    identified: classes C whose column the full design (one column per other class) cannot do without, i.e.
    rank(X) - rank(X without C) = 1, counted with numpy's matrix_rank."""
    study, (effects, rows, _, _) = sparse
    manifest = study.manifest
    rows = rows.set_index("target")
    for target in SPARSE_CLASSES:
        kept = (manifest.kind == "clean") | ((manifest.class_a != target) & (manifest.class_b != target))
        models = manifest[kept]
        others = [c for c in SPARSE_CLASSES if c != target]
        X = np.column_stack([np.ones(len(models))] + [((models.class_a == c) | (models.class_b == c)).to_numpy(float)
                                                      for c in others])
        rank = np.linalg.matrix_rank(X)
        identified = sum(rank - np.linalg.matrix_rank(np.delete(X, j, axis=1)) == 1 for j in range(1, X.shape[1]))
        lesioned = set(models.class_a) | set(models.class_b)
        assert rows.loc[target, ["n_models", "n_indicators", "n_identified"]].tolist() == [
            len(models), len(lesioned - {""}), identified], target
        assert identified == effects[effects.target == target].effect_bits.notna().sum()
    assert rows.loc[TARGET, "n_identified"] > 0 and rows.n_identified.min() < rows.n_indicators.max()


def test_a_single_pair_leaves_its_own_rows_without_indicators():
    manifest = make_manifest(trials=3, clean_trials=3, pairs=[("cat", "dog")])
    effects, rows, _, _ = lm.lesion_model(Study(manifest, make_per_class(manifest)), PARAMS)
    cat = rows.set_index("target").loc["cat"]
    assert (cat.n_models, cat.n_indicators, cat.n_identified) == (3, 0, 0)
    assert effects[effects.target == "cat"].effect_bits.isna().all() and len(effects) == 90
