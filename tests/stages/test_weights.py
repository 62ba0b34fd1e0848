"""Stage `weights`: a planted lesion read from the packs' weights, byte-identical reruns, one error line for a study
too small to decode."""

import json

import numpy as np

from lesion import contract
from tests.conftest import run_module, write_params
from tests.fixtures.weights import write_lesioned_study


def test_the_stage_reads_a_planted_lesion_from_the_logits(project):
    write_lesioned_study(project)
    write_params(project, weights={"folds": 5, "permutations": 19, "seed": 0})
    result = run_module(project, "weights", check=True)
    metrics = json.loads((project / contract.WEIGHT_DECODING).read_text())
    assert metrics["readable_from"] == "logits" and metrics["n_models"] == 30 and metrics["n_pairs"] == 3
    assert metrics["feature_sets"]["logits"]["accuracy"] >= 0.9 and metrics["feature_sets"]["logits"]["p"] == 0.05
    assert f"readable from: logits; wrote {contract.WEIGHT_DECODING}" in result.stdout
    with np.load(project / contract.DECODING) as data:
        assert data["embedding"].shape == (34, 2) and list(data["conditions"][:5]) == ["clean"] * 4 + ["cat/dog"]
        assert data["confusion"].shape == (3, 3) and data["confusion"].sum() == 30
    first = {path: (project / path).read_bytes() for path in (contract.WEIGHT_DECODING, contract.DECODING)}
    run_module(project, "weights", check=True)
    assert {path: (project / path).read_bytes() for path in first} == first


def test_a_study_with_one_model_per_pair_is_one_error_and_no_output(project):
    write_lesioned_study(project, trials=1)
    write_params(project)
    result = run_module(project, "weights")
    assert result.returncode == 1 and result.stderr.strip().splitlines() == [
        "error: decoding the lesion from the weights needs two or more pairs with two or more models each (this "
        "study has 3 pairs, the rarest with 1 models): raise corrupt.trials or add pairs"]
    assert not (project / contract.WEIGHT_DECODING).exists() and not (project / contract.DECODING).exists()
