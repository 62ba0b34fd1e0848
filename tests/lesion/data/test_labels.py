"""The label sets: exact swaps, untouched clean rows, independence of trials, pair names checked."""

import numpy as np
import pytest

from lesion import contract
from lesion.contract import MANIFEST_COLUMNS
from lesion.data.labels import build as build_labels
from lesion.data.labels import parse_pairs
from lesion.errors import ParamsError
from tests.fixtures.cifar import CLASS_NAMES

PARAMS = {"pairs": "all", "trials": 3, "clean_trials": 2, "fraction": 0.5, "seed": 0}


@pytest.fixture(scope="module")
def y_train():
    rng = np.random.default_rng(1)
    return rng.permutation(np.repeat(np.arange(10, dtype=np.uint8), 40))


def build(y_train, **overrides):
    """(manifest, every model's label row)."""
    params = dict(PARAMS, **overrides)
    manifest, labels = build_labels(y_train, CLASS_NAMES, params,
                                    parse_pairs(params["pairs"], CLASS_NAMES, params["seed"]))
    return manifest, labels.rows()


def full_row(y_train, pair, fraction, seed):
    """A swap model's label row as the corrupt stage made it before label sets were stored as changes: its
    RNG's draws applied to a copy of the labels."""
    rng = np.random.default_rng(seed)
    row = y_train.copy()
    for source, target in (pair, pair[::-1]):
        members = np.flatnonzero(y_train == source)
        row[rng.choice(members, size=int(round(fraction * len(members))), replace=False)] = target
    return row


def test_stored_changes_give_the_label_rows_bit_for_bit(y_train, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    manifest, labels = build_labels(y_train, CLASS_NAMES, PARAMS, parse_pairs("all", CLASS_NAMES, 0))
    contract.write_labels(manifest, labels)
    read = contract.read_labels()
    expected = [y_train if row.kind == "clean" else
                full_row(y_train, (CLASS_NAMES.index(row.class_a), CLASS_NAMES.index(row.class_b)), 0.5, row.seed)
                for row in manifest.itertuples()]
    assert read.rows().tobytes() == np.stack(expected).astype(np.uint8).tobytes()
    assert read.rows([5, 2]).tobytes() == np.stack([expected[5], expected[2]]).tobytes()
    assert np.diff(read.offsets).tolist() == [0, 0] + [40] * 135 and read.max_label() == 9


def test_a_cifar100_scale_study_stores_under_a_gigabyte(tmp_path, monkeypatch):
    """250,000 models of 100 classes with 500 training images each: the bytes per swap model, measured on a sample
    of pairs, times 250,000."""
    monkeypatch.chdir(tmp_path)
    classes = [f"class{i}" for i in range(100)]
    y_train = np.random.default_rng(0).permutation(np.repeat(np.arange(100, dtype=np.uint8), 500))
    params = dict(PARAMS, trials=2, clean_trials=0)
    manifest, labels = build_labels(y_train, classes, params, parse_pairs({"sample": 50}, classes, 0))
    contract.write_labels(manifest, labels)
    per_model = (contract.LABELS.stat().st_size - y_train.nbytes) / len(manifest)
    assert len(manifest) == 100 and 2500 <= per_model < 2600  # 500 relabeled images, 4 + 1 bytes each
    assert per_model * 250_000 < 0.7 * 2**30  # against 12.5 GB of full label rows


def test_manifest_layout(y_train):
    manifest, labels = build(y_train)
    assert list(manifest.columns) == MANIFEST_COLUMNS
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
    "pairs, message",
    [
        ([["cat", "unicorn"]], "corrupt.pairs names unknown class 'unicorn'; classes are: airplane, automobile,"),
        ([["cat", "cat"]], "corrupt.pairs pairs class 'cat' with itself; name two different classes"),
        ([["cat", "dog"], ["dog", "cat"]], "corrupt.pairs lists the pair ['dog', 'cat'] twice; list each pair once"),
    ],
)
def test_pairs_are_checked_against_the_class_names(pairs, message):
    with pytest.raises(ParamsError) as error:
        parse_pairs(pairs, CLASS_NAMES, 0)
    assert str(error.value).startswith(message)


def test_a_sample_of_pairs_is_seeded_canonical_and_nested():
    every = parse_pairs("all", CLASS_NAMES, 0)
    five, again, seven = (parse_pairs({"sample": n}, CLASS_NAMES, 0) for n in (5, 5, 7))
    assert five == again and len(five) == 5 and len(set(five)) == 5 and set(five) <= set(every)
    assert five == sorted(five)  # in the canonical order of 'all'
    assert set(five) < set(seven)  # a grown sample keeps the pairs of the smaller one
    assert parse_pairs({"sample": 5}, CLASS_NAMES, 1) != five
    assert parse_pairs({"sample": 45}, CLASS_NAMES, 3) == every


def test_a_sample_spreads_over_all_pairs():
    """Over many seeds each of the 45 pairs is drawn about equally often (a sample of 9 is 20% of them)."""
    counts = np.zeros((10, 10))
    for seed in range(900):
        for a, b in parse_pairs({"sample": 9}, CLASS_NAMES, seed):
            counts[a, b] += 1
    drawn = counts[np.triu_indices(10, k=1)]
    assert drawn.sum() == 8100 and 120 < drawn.min() and drawn.max() < 240  # expected 180 each


def test_a_sample_larger_than_the_pairs_is_an_error():
    with pytest.raises(ParamsError, match=r"^corrupt.pairs samples 46 pairs, but 10 classes have only 45: lower"):
        parse_pairs({"sample": 46}, CLASS_NAMES, 0)


def test_corrupt_classes_restrict_every_form_of_pairs():
    vehicles = ["automobile", "truck", "ship", "airplane"]
    indices = sorted(CLASS_NAMES.index(name) for name in vehicles)
    every = parse_pairs("all", CLASS_NAMES, 0, vehicles)
    assert every == [(a, b) for i, a in enumerate(indices) for b in indices[i + 1:]]  # the 6 pairs, canonical
    sample = parse_pairs({"sample": 3}, CLASS_NAMES, 0, vehicles)
    assert len(sample) == 3 and set(sample) < set(every)
    assert parse_pairs({"sample": 5}, CLASS_NAMES, 0) == parse_pairs({"sample": 5}, CLASS_NAMES, 0, "all")
    assert parse_pairs([["truck", "ship"]], CLASS_NAMES, 0, vehicles) == [(9, 8)]
    with pytest.raises(ParamsError, match=r"^corrupt.pairs pairs 'cat', which corrupt.classes leaves out: add it"):
        parse_pairs([["cat", "truck"]], CLASS_NAMES, 0, vehicles)
    with pytest.raises(ParamsError, match=r"^corrupt.classes names unknown class 'boat'"):
        parse_pairs("all", CLASS_NAMES, 0, ["boat", "ship"])
    with pytest.raises(ParamsError, match=r"^corrupt.pairs samples 7 pairs, but 4 classes have only 6"):
        parse_pairs({"sample": 7}, CLASS_NAMES, 0, vehicles)


def test_digit_classes_may_be_written_as_yaml_integers():
    """MNIST's classes are named '0'..'9': corrupt.pairs: [[3, 5]] reads as integers and means those classes."""
    digits = [str(d) for d in range(10)]
    assert parse_pairs([[3, 5], ["7", 1]], digits, 0) == [(3, 5), (7, 1)]
    assert parse_pairs("all", digits, 0, [9, 8, 0]) == [(0, 8), (0, 9), (8, 9)]
