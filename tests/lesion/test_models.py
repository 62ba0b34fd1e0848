"""load_model: one model of a study as a plain Keras model that computes what the packed evaluator computes."""

import numpy as np
import pytest

from lesion import load_model
from lesion.errors import InputError
from lesion.evaluation import PackEvaluator
from lesion.model.networks import Network


def test_a_loaded_model_predicts_what_its_pack_predicts(blob_study):
    project, weights, x_test, _ = blob_study
    packed = PackEvaluator(Network(), 2).predict(weights, x_test)
    for model_id in (0, 1):
        model = load_model(model_id, project=project)
        logits = model.predict(x_test.astype(np.float32) / 255.0, verbose=0)
        probs = np.exp(logits - logits.max(-1, keepdims=True))
        np.testing.assert_allclose(np.clip(probs / probs.sum(-1, keepdims=True), 1e-7, 1 - 1e-7), packed[model_id],
                                   atol=1e-5)
    assert not np.allclose(packed[0], packed[1])  # two different models, each found


def test_an_unknown_model_is_named(blob_study):
    with pytest.raises(InputError, match=r"data/labels/manifest.csv has no model 5: its models are 0..1"):
        load_model(5, project=blob_study[0])
