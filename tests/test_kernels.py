"""The fused Pallas kernels (lesion.model.kernels) compute what XLA computes, forward and backward, and lower for a
GPU through Triton.

They run in Pallas' interpret mode here (no GPU), against an independent reference written with lax's own
convolution and pooling window; the lowering for CUDA is checked without a GPU (what Triton accepts: power-of-2
blocks, supported operations). The trainer's and the evaluator's results with `kernels: pallas` match the XLA
path's in a JAX process of their own.
"""

import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from lesion.model import kernels
from lesion.model.networks import Network
from tests.conftest import REPO

pytestmark = pytest.mark.slow
K, B, N = 2, 3, 5


def reference_conv_pool(x, kernel, bias):
    """ReLU(conv 3x3 valid + bias), then 2x2 max pooling (floor), of every copy: lax's own window ops."""
    def one(x, kernel, bias):
        y = lax.conv_general_dilated(x, kernel, (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC"),
                                     precision=lax.Precision.HIGHEST)
        y = jnp.maximum(y + bias.astype(y.dtype), 0)
        return lax.reduce_window(y, jnp.array(-jnp.inf, y.dtype), lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")

    return jax.vmap(one)(x, kernel.astype(x.dtype), bias)


def inputs(seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (N, 32, 32, 3), dtype=np.uint8)
    index = rng.integers(0, N, (K, B)).astype(np.int32)
    weights = Network().initial_pack_weights([1, 2])
    params = [jnp.asarray(weights[0]), jnp.asarray(weights[1]) + 0.01, jnp.asarray(weights[2]),
              jnp.asarray(weights[3]) + 0.01]
    return jnp.asarray(images), jnp.asarray(index), params, rng


def fused(images, index, dtype):
    def run(conv1_kernel, conv1_bias, conv2_kernel, conv2_bias):
        h = kernels.conv1_pool(kernels.space_to_depth_images(images), index, conv1_kernel, conv1_bias, dtype)
        return h[:, :, :14, :14], kernels.conv2_pool(h, conv2_kernel, conv2_bias, dtype)[:, :, :6, :6]

    return run


def reference(images, index, dtype):
    def run(conv1_kernel, conv1_bias, conv2_kernel, conv2_bias):
        x = (jnp.take(images, index, axis=0).astype(jnp.float32) / 255.0).astype(dtype)
        h = reference_conv_pool(x, conv1_kernel, conv1_bias)[:, :, :14, :14]
        return h, reference_conv_pool(h, conv2_kernel, conv2_bias)

    return run


def outputs_and_gradients(run, params, cotangent):
    """Both pooled maps, and the gradients of <conv2's map, cotangent> w.r.t. the weights and conv1's map."""
    (h, out), backward = jax.vjp(run, *params)
    grads = backward((jnp.zeros_like(h), cotangent.astype(out.dtype)))
    return [np.asarray(a, np.float32) for a in (h, out, *grads)]


def test_forward_and_gradients_equal_xla_in_float32():
    images, index, params, rng = inputs()
    cotangent = jnp.asarray(rng.standard_normal((K, B, 6, 6, 64)).astype(np.float32))
    got = outputs_and_gradients(jax.jit(fused(images, index, jnp.float32)), params, cotangent)
    want = outputs_and_gradients(reference(images, index, jnp.float32), params, cotangent)
    for name, a, b in zip(["conv1 map", "conv2 map", "dW1", "db1", "dW2", "db2"], got, want):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * np.abs(b).max(), err_msg=name)


def test_tied_windows_send_the_gradient_to_the_first_maximum_as_xla_does():
    """conv1 reading only its kernel's center tap, on images that repeat each pixel over a pool window's four
    centers: every window ties, and the kernel's off-center gradient shows which member got the gradient."""
    images, index, params, rng = inputs(3)
    small = rng.integers(10, 256, (N, 17, 17, 3), dtype=np.uint8)
    rows = np.clip((np.arange(32) - 1) // 2 + 1, 0, 16)
    images = jnp.asarray(small[:, rows][:, :, rows])
    params[0] = jnp.zeros_like(params[0]).at[:, 1, 1].set(jnp.abs(params[0][:, 1, 1]) + 0.05)
    cotangent = jnp.asarray(rng.standard_normal((K, B, 6, 6, 64)).astype(np.float32))
    got = outputs_and_gradients(jax.jit(fused(images, index, jnp.float32)), params, cotangent)
    want = outputs_and_gradients(reference(images, index, jnp.float32), params, cotangent)
    for name, a, b in zip(["conv1 map", "conv2 map", "dW1", "db1", "dW2", "db2"], got, want):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * np.abs(b).max(), err_msg=name)
    x = jnp.take(images, index[0], axis=0).astype(jnp.float32) / 255.0
    y = lax.conv_general_dilated(x, params[0][0], (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC"))
    windows = np.asarray(y + params[1][0])[:, :28, :28].reshape(B, 14, 2, 14, 2, 32)
    assert (windows > 0).all() and (windows == windows.max(axis=(2, 4), keepdims=True)).all()  # every window ties


def test_conv2_input_gradient_equals_xla():
    """dX of conv2, what conv1's backward receives."""
    images, index, params, rng = inputs(1)
    x = fused(images, index, jnp.float32)(*params)[0]
    padded = jnp.pad(x, [(0, 0), (0, 0), (0, 4), (0, 4), (0, 0)])  # conv1_pool's (18, 18) layout
    cotangent = jnp.asarray(rng.standard_normal((K, B, 6, 6, 64)).astype(np.float32))
    _, fused_vjp = jax.vjp(lambda x: kernels.conv2_pool(x, params[2], params[3], jnp.float32)[:, :, :6, :6], padded)
    _, reference_vjp = jax.vjp(lambda x: reference_conv_pool(x, params[2], params[3]), x)
    got, want = fused_vjp(cotangent)[0][:, :, :14, :14], reference_vjp(cotangent)[0]
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-5 * np.abs(want).max())


def test_bf16_stays_within_the_xla_bf16_paths_own_error():
    images, index, params, rng = inputs(2)
    cotangent = jnp.asarray(rng.standard_normal((K, B, 6, 6, 64)).astype(np.float32))
    exact = outputs_and_gradients(reference(images, index, jnp.float32), params, cotangent)
    got = outputs_and_gradients(jax.jit(fused(images, index, jnp.bfloat16)), params, cotangent)
    xla = outputs_and_gradients(reference(images, index, jnp.bfloat16), params, cotangent)
    for name, a, b, c in zip(["conv1 map", "conv2 map", "dW1", "db1", "dW2", "db2"], got, xla, exact):
        assert np.abs(a - c).max() <= 2 * np.abs(b - c).max() + 1e-6 * np.abs(c).max(), name


def test_the_kernels_lower_for_a_gpu_through_triton(monkeypatch):
    images, index, params, rng = inputs()
    monkeypatch.setattr(kernels, "interpreting", lambda: False)
    cotangent = jnp.ones((K, B, 6, 6, 64), jnp.float32)

    def step(*params):
        return jax.vjp(fused(images, index, jnp.bfloat16), *params)[1]((jnp.zeros((K, B, 14, 14, 32), jnp.bfloat16),
                                                                         cotangent.astype(jnp.bfloat16)))

    text = jax.jit(step).trace(*params).lower(lowering_platforms=("cuda",)).as_text()
    assert text.count("__gpu$xla.gpu.triton") == 4  # conv1 and conv2, forward and backward


TRAINER = r"""
import numpy as np, keras
from lesion.evaluation import PackEvaluator
from lesion.model.networks import Network
from lesion.model.trainer import PackTrainer

rng = np.random.default_rng(5)
images = rng.integers(0, 256, (24, 32, 32, 3), dtype=np.uint8)
labels, y_test = rng.integers(0, 10, (2, 16)).astype(np.uint8), rng.integers(0, 10, 12)
seeds = np.array([3, 4])
for kernels in ("xla", "pallas"):
    weights, history = PackTrainer(Network(), 2, 8, 1e-3, kernels).train(Network().initial_pack_weights(seeds), labels,
                                                               keras.ops.convert_to_tensor(images), seeds, 0, 1)
    results = PackEvaluator(Network(), 2, kernels).evaluate(weights, images[:12], y_test)
    np.savez(f"{kernels}.npz", *weights, history=history, loglik=results.loglik, mean_prob=results.mean_prob)
"""


def test_a_pack_trains_and_evaluates_the_same_with_either_kernels(tmp_path):
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-c", TRAINER], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    xla, pallas = np.load(tmp_path / "xla.npz"), np.load(tmp_path / "pallas.npz")
    for name in xla.files:  # two Adam steps
        np.testing.assert_allclose(pallas[name], xla[name], rtol=1e-4, atol=1e-5, err_msg=name)
