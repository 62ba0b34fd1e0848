"""Stage `corrupt`: byte-reproducible label sets; a bad param is one error line and leaves nothing."""

import numpy as np
import pandas as pd
import pytest

from lesion import contract
from lesion.files import save_npz
from tests.conftest import run_module, write_params
from tests.fixtures.cifar import CLASS_NAMES

PARAMS = {"pairs": "all", "trials": 3, "clean_trials": 2, "fraction": 0.5, "seed": 0}


@pytest.fixture
def y_train():
    rng = np.random.default_rng(1)
    return rng.permutation(np.repeat(np.arange(10, dtype=np.uint8), 40))


def write_data(project, y_train):
    save_npz(project / "data" / "cifar10.npz", y_train=y_train, class_names=np.array(CLASS_NAMES))


def test_cli_is_byte_reproducible(project, y_train):
    write_data(project, y_train)
    write_params(project, corrupt=dict(PARAMS))
    run_module(project, "corrupt", check=True)
    first = [(project / contract.MANIFEST).read_bytes(), (project / contract.LABELS).read_bytes()]
    run_module(project, "corrupt", check=True)
    assert first == [(project / contract.MANIFEST).read_bytes(), (project / contract.LABELS).read_bytes()]
    assert len(pd.read_csv(project / contract.MANIFEST)) == 137


def test_cli_bad_param_fails_cleanly(project, y_train):
    write_data(project, y_train)
    write_params(project, corrupt=dict(PARAMS, pairs=[["cat", "cat"]]))
    result = run_module(project, "corrupt")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == ["error: corrupt.pairs pairs class 'cat' with itself; name two different classes"]
    assert not (project / "data" / "labels").exists()


def test_a_sample_of_pairs_sizes_the_study(project, y_train):
    write_data(project, y_train)
    write_params(project, corrupt=dict(PARAMS, pairs={"sample": 4}))
    result = run_module(project, "corrupt", check=True)
    manifest = pd.read_csv(project / contract.MANIFEST, keep_default_na=False)
    pairs = manifest[manifest.kind == "swap"][["class_a", "class_b"]].drop_duplicates()
    assert len(manifest) == 2 + 4 * 3 and len(pairs) == 4
    assert result.stdout.strip() == f"wrote 14 label sets (4 pairs) to {contract.LABELS_DIR}"
    order = [(CLASS_NAMES.index(a), CLASS_NAMES.index(b)) for a, b in pairs.itertuples(index=False)]
    assert order == sorted(order) and all(a < b for a, b in order)
