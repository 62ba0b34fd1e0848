"""Where a packed training step spends its time: forward+backward of each packed layer alone, per formulation.

    KERAS_BACKEND=jax python benchmarks/layer_profile.py --copies 2300

Each line times jax.grad of sum(layer(x)) with respect to the layer's weights and input (one jitted call),
for the shapes of the study's CNN at batch size 32. Writes a record of the run (ms per layer and formulation) to
benchmarks/results/.
"""

import argparse
import os
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import record  # noqa: E402


def timed(fn, *args, repeats=10):
    jax.block_until_ready(fn(*args))
    start = time.perf_counter()
    for _ in range(repeats):
        out = fn(*args)
    jax.block_until_ready(out)
    return (time.perf_counter() - start) / repeats * 1e3


def conv_patches(x, w):
    h, wd, c = x.shape[2] - 2, x.shape[3] - 2, x.shape[4]
    p = jnp.concatenate([x[:, :, i:i + h, j:j + wd, :] for i in range(3) for j in range(3)], axis=-1)
    return jnp.einsum("kbhwp,kpf->kbhwf", p, w.reshape(w.shape[0], 9 * c, -1))


def conv_stacked(x, w):
    """Patches stacked on a new axis (K, B, H, W, 9, C): contiguous runs of C values instead of a concatenation."""
    h, wd, c = x.shape[2] - 2, x.shape[3] - 2, x.shape[4]
    p = jnp.stack([x[:, :, i:i + h, j:j + wd, :] for i in range(3) for j in range(3)], axis=-2)
    return jnp.einsum("kbhwsc,kscf->kbhwf", p, w.reshape(w.shape[0], 9, c, -1))


def conv_shifted(x, w):
    h, wd = x.shape[2] - 2, x.shape[3] - 2
    return sum(jnp.einsum("kbhwc,kcf->kbhwf", x[:, :, i:i + h, j:j + wd, :], w[:, i, j]) for i in range(3) for j in range(3))


def conv_grouped(x, w):
    k, b, hh, ww, c = x.shape
    xg = jnp.transpose(x, (1, 2, 3, 0, 4)).reshape(b, hh, ww, k * c)
    wg = jnp.transpose(w, (1, 2, 3, 0, 4)).reshape(3, 3, c, k * w.shape[-1])
    y = jax.lax.conv_general_dilated(xg, wg, (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC"),
                                     feature_group_count=k)
    return jnp.transpose(y.reshape(b, hh - 2, ww - 2, k, -1), (3, 0, 1, 2, 4))


def pool_window(x):
    k, b = x.shape[:2]
    y = jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 1, 2, 2, 1), (1, 1, 2, 2, 1), "VALID")
    return y


def pool_reshape(x):
    k, b, h, w, c = x.shape
    x = x[:, :, : h // 2 * 2, : w // 2 * 2]
    return x.reshape(k, b, h // 2, 2, w // 2, 2, c).max(axis=(3, 5))


def pool_slices(x):
    k, b, h, w, c = x.shape
    h, w = h // 2 * 2, w // 2 * 2
    return jnp.maximum(jnp.maximum(x[:, :, 0:h:2, 0:w:2], x[:, :, 0:h:2, 1:w:2]),
                       jnp.maximum(x[:, :, 1:h:2, 0:w:2], x[:, :, 1:h:2, 1:w:2]))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=2300)
    parser.add_argument("--dtype", default="float32")
    args = parser.parse_args()
    k, b, dt = args.copies, 32, jnp.dtype(args.dtype)
    rng = np.random.default_rng(0)
    shapes = {"conv1": (32, 3, 32), "conv2": (15, 32, 64), "conv3": (6, 64, 64)}
    results = {}  # {layer: {formulation: ms of one forward+backward, or None where it failed}}
    for name, (size, cin, cout) in shapes.items():
        x = jnp.asarray(rng.random((k, b, size, size, cin), np.float32), dt)
        w = jnp.asarray(rng.random((k, 3, 3, cin, cout), np.float32) * 0.01, dt)
        for form in (conv_patches, conv_stacked, conv_shifted, conv_grouped):
            wrt = (1,) if name == "conv1" else (0, 1)
            grad = jax.jit(jax.grad(lambda x, w: jnp.sum(form(x, w).astype(jnp.float32)), argnums=wrt))
            try:
                ms = timed(grad, x, w)
                print(f"{name} {form.__name__:13s} {ms:8.2f} ms", flush=True)
            except Exception as error:  # noqa: BLE001 - report and go on to the next formulation
                ms = None
                print(f"{name} {form.__name__:13s} failed: {str(error).splitlines()[0][:120]}", flush=True)
            results.setdefault(name, {})[form.__name__] = ms
    for size, c in ((30, 32), (13, 64)):
        x = jnp.asarray(rng.random((k, b, size, size, c), np.float32), dt)
        for form in (pool_window, pool_reshape, pool_slices):
            grad = jax.jit(jax.grad(lambda x: jnp.sum(form(x).astype(jnp.float32) ** 2)))
            ms = timed(grad, x)
            print(f"pool{size} {form.__name__:13s} {ms:8.2f} ms", flush=True)
            results.setdefault(f"pool{size}", {})[form.__name__] = ms
    x = jnp.asarray(rng.random((k, b, 1024), np.float32), dt)
    w = jnp.asarray(rng.random((k, 1024, 64), np.float32), dt)
    grad = jax.jit(jax.grad(lambda x, w: jnp.sum(jnp.einsum("kbi,kio->kbo", x, w).astype(jnp.float32)), argnums=(0, 1)))
    ms = timed(grad, x, w)
    print(f"dense einsum        {ms:8.2f} ms", flush=True)
    results["dense"] = {"einsum": ms}
    record.save(__file__, args, results)


if __name__ == "__main__":
    main()
