"""A pack sharded over several JAX devices trains and evaluates every copy as one device does, with no collective.

JAX fixes its device count at start-up, so each run is its own process: one CPU device, and four forced with
XLA_FLAGS=--xla_force_host_platform_device_count=4 (what several GPUs look like to the code).
"""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import REPO

# Six copies: on four devices the pack is padded to eight, two per device, and the repeats are dropped.
PROGRAM = r"""
import json, sys
import keras, numpy as np
from lesion.evaluation import PackEvaluator
from lesion.model import autodiff
from lesion.model.networks import Network
from lesion.model.trainer import STATE_COPY_AXES, PackTrainer, epoch_orders

rng = np.random.default_rng(2)
images = rng.integers(0, 256, (64, 32, 32, 3), dtype=np.uint8)
labels = rng.integers(0, 10, (6, 48)).astype(np.uint8)
seeds = np.arange(6) + 5
trainer = PackTrainer(Network(), 6, 16, 1e-3)
weights, history = trainer.train(Network().initial_pack_weights(seeds), labels, keras.ops.convert_to_tensor(images),
                                 seeds, 0, 1)
evaluator = PackEvaluator(Network(), 6)
result = evaluator.evaluate(weights, images[:40], rng.integers(0, 10, 40), top=3)
probabilities = evaluator.predict(weights, images[:40])
np.savez(sys.argv[1], *weights, history=history, **vars(result),
         probabilities=probabilities)

slots = trainer.slots
step_args = (autodiff.place(autodiff.pad_copies(Network().initial_pack_weights(seeds), slots), True),)
step_args += (autodiff.place(trainer.optimizer.initial_state(step_args[0]), STATE_COPY_AXES[1]),
              autodiff.place(np.zeros((slots, 2), np.float32), True), autodiff.place(images, False),
              autodiff.place(autodiff.pad_copies([labels.astype(np.int32)], slots)[0], True),
              autodiff.place(epoch_orders(autodiff.pad_copies([seeds], slots)[0], 0, 0, 48), True),
              autodiff.place(np.int32(0), False))
print(json.dumps({"slots": slots, "devices": len(__import__("jax").devices()),
                  "hlo": trainer.step.lower(*step_args).compile().as_text()}))
"""
COLLECTIVES = r"all-reduce|all-gather|all-to-all|collective-permute|reduce-scatter|collective-broadcast"


def run(tmp_path, devices):
    """Train and evaluate the pack on `devices` JAX CPU devices; (arrays, report) of the run."""
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu",
               XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
    out = tmp_path / f"devices_{devices}.npz"
    result = subprocess.run([sys.executable, "-c", PROGRAM, str(out)], cwd=REPO, env=env, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return np.load(out), json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_sharded_pack_trains_each_copy_as_one_device_does(tmp_path):
    one, single = run(tmp_path, 1)
    four, sharded = run(tmp_path, 4)
    assert (single["devices"], single["slots"], sharded["devices"], sharded["slots"]) == (1, 6, 4, 8)
    for name in one.files:
        assert four[name].shape == one[name].shape, name  # the two padded copies are dropped
        # Three Adam steps: the per-device products round like a smaller pack's (about 5e-7 here), no more.
        np.testing.assert_allclose(four[name], one[name], rtol=1e-5, atol=2e-6, err_msg=name)
    # Partitioned: each device holds two copies' conv1 kernels, and the step exchanges nothing between devices.
    assert "f32[2,3,3,3,32]" in sharded["hlo"] and "f32[8,3,3,3,32]" not in sharded["hlo"]
    assert re.findall(COLLECTIVES, sharded["hlo"]) == []
    assert "f32[6,3,3,3,32]" in single["hlo"]
