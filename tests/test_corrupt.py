"""Stage `corrupt`: exact swaps, untouched clean rows, reproducibility, independence, param validation."""

import numpy as np
import pandas as pd
import pytest

from stages import corrupt
from stages.common import StageError, save_npz
from tests.cifar_fixture import CLASS_NAMES
from tests.conftest import run_module, write_params

PARAMS = {"pairs": "all", "trials": 3, "clean_trials": 2, "fraction": 0.5, "seed": 0}


@pytest.fixture(scope="module")
def y_train():
    rng = np.random.default_rng(1)
    return rng.permutation(np.repeat(np.arange(10, dtype=np.uint8), 40))


def build(y_train, **overrides):
    params = dict(PARAMS, **overrides)
    return corrupt.build(y_train, CLASS_NAMES, params, corrupt.validate(params, CLASS_NAMES))


def test_manifest_layout(y_train):
    manifest, labels = build(y_train)
    assert list(manifest.columns) == corrupt.MANIFEST_COLUMNS
    assert len(manifest) == 2 + 45 * 3 and labels.shape == (137, 400) and labels.dtype == np.uint8
    assert list(manifest.model_id) == list(range(137))
    assert list(manifest.kind[:2]) == ["clean", "clean"] and (manifest.kind[2:] == "swap").all()
    assert manifest.loc[2, ["class_a", "class_b", "trial"]].tolist() == ["airplane", "automobile", 0]


def test_swaps_exact_counts_and_only_the_pair(y_train):
    manifest, labels = build(y_train, fraction=0.25)
    for row in manifest[manifest.kind == "swap"].itertuples():
        a, b = CLASS_NAMES.index(row.class_a), CLASS_NAMES.index(row.class_b)
        changed = labels[row.model_id] != y_train
        assert changed.sum() == 20  # 25% of 40 images, in each of the two classes
        assert ((y_train[changed] == a) & (labels[row.model_id][changed] == b)).sum() == 10
        assert ((y_train[changed] == b) & (labels[row.model_id][changed] == a)).sum() == 10
        assert set(y_train[changed]) == {a, b}


def test_clean_rows_identical(y_train):
    manifest, labels = build(y_train)
    for model_id in manifest.model_id[manifest.kind == "clean"]:
        np.testing.assert_array_equal(labels[model_id], y_train)
    assert (manifest.class_a[manifest.kind == "clean"] == "").all()


def test_trials_differ_and_seeds_are_distinct(y_train):
    manifest, labels = build(y_train)
    swaps = manifest[(manifest.class_a == "cat") & (manifest.class_b == "dog")]
    rows = labels[swaps.model_id.to_numpy()]
    assert not np.array_equal(rows[0], rows[1]) and not np.array_equal(rows[1], rows[2])
    assert manifest.seed.is_unique


def test_adding_trials_keeps_existing_label_sets(y_train):
    small_manifest, small = build(y_train, trials=2)
    large_manifest, large = build(y_train, trials=5)
    key = ["kind", "class_a", "class_b", "trial"]
    merged = small_manifest.merge(large_manifest, on=key, suffixes=("_small", "_large"))
    assert len(merged) == len(small_manifest)
    assert (merged.seed_small == merged.seed_large).all()
    np.testing.assert_array_equal(small[merged.model_id_small], large[merged.model_id_large])


def test_pair_list(y_train):
    manifest, _ = build(y_train, pairs=[["truck", "automobile"], ["cat", "dog"]])
    assert manifest[manifest.kind == "swap"][["class_a", "class_b"]].drop_duplicates().values.tolist() == [
        ["truck", "automobile"], ["cat", "dog"]]


@pytest.mark.parametrize(
    "override, message",
    [
        ({"pairs": [["cat", "unicorn"]]}, "unknown class 'unicorn'"),
        ({"pairs": [["cat", "cat"]]}, "with itself"),
        ({"pairs": [["cat", "dog"], ["dog", "cat"]]}, "twice"),
        ({"fraction": 0}, "fraction must be in (0, 1], got 0"),
        ({"fraction": 1.5}, "got 1.5"),
        ({"trials": 1}, "corrupt.trials must be an integer of at least 2"),
        ({"clean_trials": 1}, "corrupt.clean_trials"),
        ({"pairs": "some"}, "got 'some'"),
    ],
)
def test_bad_params_name_the_value(override, message):
    params = dict(PARAMS, **override)
    with pytest.raises(StageError) as error:
        corrupt.validate(params, CLASS_NAMES)
    assert message in str(error.value)


def write_data(project, y_train):
    save_npz(project / "data" / "cifar10.npz", y_train=y_train, class_names=np.array(CLASS_NAMES))


def test_cli_is_byte_reproducible(project, y_train):
    write_data(project, y_train)
    write_params(project, corrupt=dict(PARAMS))
    run_module(project, "corrupt", check=True)
    first = [(project / corrupt.MANIFEST).read_bytes(), (project / corrupt.LABELS).read_bytes()]
    run_module(project, "corrupt", check=True)
    assert first == [(project / corrupt.MANIFEST).read_bytes(), (project / corrupt.LABELS).read_bytes()]
    assert len(pd.read_csv(project / corrupt.MANIFEST)) == 137


def test_cli_bad_param_fails_cleanly(project, y_train):
    write_data(project, y_train)
    write_params(project, corrupt=dict(PARAMS, pairs=[["cat", "cat"]]))
    result = run_module(project, "corrupt")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == ["error: corrupt.pairs pairs class 'cat' with itself; name two different classes"]
    assert not (project / "data" / "labels").exists()
