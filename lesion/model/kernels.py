"""Fused conv + bias + ReLU + 2x2 max-pool kernels for conv1 and conv2, in Pallas (JAX only, train.kernels: pallas).

The XLA path (lesion.model.packed) writes each layer's patches and pre-pool maps to memory; these kernels keep
them in registers and write only the pooled map and a one-byte argmax (which member of each window won, for the
backward pass). conv1 gathers each copy's minibatch from the device-resident images inside the kernel, so no
gathered batch is written either. Backward (jax.custom_vjp) gives dW and db for both, and dX for conv2.

Layouts, chosen so that every block a kernel loads or stores has a power-of-2 size (Triton's rule):
- Images in space-to-depth blocks: (N, 17, 17, 16) uint8, block (u, v) holding pixels rows 2u, 2u+1 and columns
  2v, 2v+1 as 12 channels (row, column, colour), padded to 16 channels and 17 blocks with zeros. A pooled output
  (p, q) of conv1 reads blocks (p..p+1, q..q+1): four (16 x 16 positions, 16 channels) loads per image, each
  multiplied by the kernel placed at every member's offset (`expand_conv1_kernel`).
- conv1's output: (K, B, 18, 18, 32), the 14 x 14 pooled map in the top-left (rows 14-15 are computed from the
  padding and never read downstream) and zeros in rows and columns 16-17, so conv2's stride-2 loads stay in bounds.
- conv2's output: (K, B, 8, 8, 64), the 6 x 6 pooled map in the top-left.
Both kernels take the first maximum of a window, as Keras' MaxPooling2D does, and route its gradient there.

Tests run the kernels in Pallas' interpret mode on the CPU against the XLA path, and lower them for a CUDA GPU
through Triton without one (tests/test_kernels.py); they have not run on a GPU yet, nor been timed there.
"""

import functools

import jax
import jax.numpy as jnp
from jax.experimental import pallas as pl
from jax.experimental.pallas import triton as pltriton

from lesion.model.packed import POOL_MEMBERS

BLOCKS, BLOCK_CHANNELS = 17, 16  # space-to-depth image layout
CONV1_GRID, CONV1_MAP = 16, 18  # pooled positions computed per side; conv1 output side (with the zero margin)
CONV2_GRID, CONV2_POOLED = 8, 6  # pooled positions computed per side; the real pooled map's side
WARPS = 4


def space_to_depth_images(images):
    """uint8 images (N, 32, 32, 3) -> (N, 17, 17, 16): 2x2 pixel blocks as channels, zero-padded."""
    n, height, width, colours = images.shape
    blocks = images.reshape(n, height // 2, 2, width // 2, 2, colours).transpose(0, 1, 3, 2, 4, 5)
    blocks = blocks.reshape(n, height // 2, width // 2, 4 * colours)
    pad = [(0, 0), (0, BLOCKS - height // 2), (0, BLOCKS - width // 2), (0, BLOCK_CHANNELS - 4 * colours)]
    return jnp.pad(blocks, pad)


def expand_conv1_kernel(kernel):
    """(K, 3, 3, 3, F) -> (K, 4 members, 2, 2, 16, F): for each member of a pool window, the kernel placed at its
    offset in the 4x4 pixel window, split into the window's 2x2 space-to-depth blocks (zeros elsewhere)."""
    copies, _, _, colours, filters = kernel.shape
    members = []
    for di, dj in POOL_MEMBERS:
        placed = jnp.pad(kernel, [(0, 0), (di, 1 - di), (dj, 1 - dj), (0, 0), (0, 0)])  # (K, 4, 4, 3, F)
        placed = placed.reshape(copies, 2, 2, 2, 2, colours, filters).transpose(0, 1, 3, 2, 4, 5, 6)
        placed = placed.reshape(copies, 2, 2, 4 * colours, filters)
        members.append(jnp.pad(placed, [(0, 0), (0, 0), (0, 0), (0, BLOCK_CHANNELS - 4 * colours), (0, 0)]))
    return jnp.stack(members, axis=1)


def first_max(values):
    """The first maximum of a list of equally shaped arrays and the index (int32) of the member that holds it."""
    best, winner = values[0], jnp.zeros(values[0].shape, jnp.int32)
    for member, value in enumerate(values[1:], start=1):
        better = value > best
        best, winner = jnp.where(better, value, best), jnp.where(better, member, winner)
    return best, winner


def image_blocks(images_ref, image, dtype):
    """The four (256, 16) loads of one image's space-to-depth blocks, shifted by (s, t), scaled to [0, 1]."""
    return {(s, t): (images_ref[image, pl.ds(s, CONV1_GRID), pl.ds(t, CONV1_GRID), :]
                     .reshape(CONV1_GRID * CONV1_GRID, BLOCK_CHANNELS).astype(jnp.float32) / 255.0).astype(dtype)
            for s in (0, 1) for t in (0, 1)}


def store_zero_margin(ref, k, b, inner, outer, channels, dtype):
    """Zeros in rows and columns inner..outer-1 of ref[k, b], in power-of-2 blocks."""
    edge = outer - inner
    ref[k, b, pl.ds(inner, edge), pl.ds(0, inner), :] = jnp.zeros((edge, inner, channels), dtype)
    ref[k, b, pl.ds(0, inner), pl.ds(inner, edge), :] = jnp.zeros((inner, edge, channels), dtype)
    ref[k, b, pl.ds(inner, edge), pl.ds(inner, edge), :] = jnp.zeros((edge, edge, channels), dtype)


def conv1_forward_kernel(index_ref, images_ref, kernel_ref, bias_ref, out_ref, winner_ref):
    k, b = pl.program_id(0), pl.program_id(1)
    dtype = out_ref.dtype
    blocks = image_blocks(images_ref, index_ref[k, b], dtype)
    members = [sum(jnp.dot(blocks[s, t], kernel_ref[k, m, s, t].astype(dtype), preferred_element_type=jnp.float32)
                   for s in (0, 1) for t in (0, 1)) for m in range(len(POOL_MEMBERS))]
    best, winner = first_max(members)
    filters = best.shape[-1]
    pooled = jnp.maximum(best + bias_ref[k].astype(jnp.float32)[None, :], 0.0).astype(dtype)
    out_ref[k, b, pl.ds(0, CONV1_GRID), pl.ds(0, CONV1_GRID), :] = pooled.reshape(CONV1_GRID, CONV1_GRID, filters)
    store_zero_margin(out_ref, k, b, CONV1_GRID, CONV1_MAP, filters, dtype)
    winner_ref[k, b] = winner.astype(jnp.int8)


def conv1_backward_kernel(index_ref, images_ref, out_ref, winner_ref, grad_ref, dkernel_ref, dbias_ref):
    k = pl.program_id(0)
    positions, filters = CONV1_GRID * CONV1_GRID, out_ref.shape[-1]

    def one_image(b, sums):
        dkernel, dbias = sums
        blocks = image_blocks(images_ref, index_ref[k, b], jnp.float32)
        rows = columns = pl.ds(0, CONV1_GRID)
        pooled = out_ref[k, b, rows, columns, :].reshape(positions, filters)
        grad = grad_ref[k, b, rows, columns, :].reshape(positions, filters).astype(jnp.float32)
        grad = jnp.where(pooled > 0, grad, 0.0)
        winner = winner_ref[k, b].astype(jnp.int32)
        dkernel = tuple(dkernel[4 * m + 2 * s + t] + jnp.dot(blocks[s, t].T, jnp.where(winner == m, grad, 0.0),
                                                               preferred_element_type=jnp.float32)
                        for m in range(len(POOL_MEMBERS)) for s in (0, 1) for t in (0, 1))
        return dkernel, dbias + grad.sum(axis=0)

    zeros = tuple(jnp.zeros((BLOCK_CHANNELS, filters), jnp.float32) for _ in range(16))
    dkernel, dbias = jax.lax.fori_loop(0, index_ref.shape[1], one_image, (zeros, jnp.zeros((filters,), jnp.float32)))
    for m in range(len(POOL_MEMBERS)):
        for s in (0, 1):
            for t in (0, 1):
                dkernel_ref[k, m, s, t] = dkernel[4 * m + 2 * s + t]
    dbias_ref[k] = dbias


def interpreting():
    """Pallas runs interpreted where JAX has no GPU (tests, a CPU run); compiled through Triton on a GPU."""
    return jax.default_backend() == "cpu"


def call(kernel, out_shape, grid, *args):
    return pl.pallas_call(kernel, out_shape=out_shape, grid=grid, interpret=interpreting(),
                          compiler_params=pltriton.CompilerParams(num_warps=WARPS))(*args)


def conv1_forward(images, index, expanded, bias, dtype):
    copies, batch = index.shape
    filters = expanded.shape[-1]
    out_shape = (jax.ShapeDtypeStruct((copies, batch, CONV1_MAP, CONV1_MAP, filters), dtype),
                 jax.ShapeDtypeStruct((copies, batch, CONV1_GRID * CONV1_GRID, filters), jnp.int8))
    return call(conv1_forward_kernel, out_shape, (copies, batch), index, images, expanded, bias)


@functools.partial(jax.custom_vjp, nondiff_argnums=(4,))
def conv1_pool(images, index, kernel, bias, dtype):
    """conv1 + bias + ReLU + pool of every copy on its own minibatch: images (N, 17, 17, 16) uint8
    (`space_to_depth_images`), index (K, B) int32 -> (K, B, 18, 18, F), the pooled 14 x 14 map in the top-left."""
    return conv1_forward(images, index, expand_conv1_kernel(kernel), bias, dtype)[0]


def conv1_pool_forward(images, index, kernel, bias, dtype):
    out, winner = conv1_forward(images, index, expand_conv1_kernel(kernel), bias, dtype)
    return out, (images, index, kernel, out, winner)


def conv1_pool_backward(dtype, residuals, grad):
    images, index, kernel, out, winner = residuals
    copies, filters = index.shape[0], kernel.shape[-1]
    out_shape = (jax.ShapeDtypeStruct((copies, len(POOL_MEMBERS), 2, 2, BLOCK_CHANNELS, filters), jnp.float32),
                 jax.ShapeDtypeStruct((copies, filters), jnp.float32))
    dexpanded, dbias = call(conv1_backward_kernel, out_shape, (copies,), index, images, out, winner, grad)
    _, unexpand = jax.vjp(expand_conv1_kernel, kernel)
    (dkernel,) = unexpand(dexpanded.astype(kernel.dtype))
    return None, None, dkernel, dbias.astype(kernel.dtype)


conv1_pool.defvjp(conv1_pool_forward, conv1_pool_backward)


def conv2_patch(x_ref, k, b, member, tap, dtype):
    """The (64, C) patch rows of one member and kernel tap: input rows 2p + di + i, columns 2q + dj + j."""
    (di, dj), (i, j) = member, tap
    rows = pl.ds(di + i, CONV2_GRID, 2)
    columns = pl.ds(dj + j, CONV2_GRID, 2)
    return x_ref[k, b, rows, columns, :].reshape(CONV2_GRID * CONV2_GRID, x_ref.shape[-1]).astype(dtype)


TAPS = tuple((i, j) for i in range(3) for j in range(3))


def conv2_forward_kernel(x_ref, kernel_ref, bias_ref, out_ref, winner_ref):
    k, b = pl.program_id(0), pl.program_id(1)
    dtype = out_ref.dtype
    members = [sum(jnp.dot(conv2_patch(x_ref, k, b, member, tap, dtype), kernel_ref[k, tap[0], tap[1]].astype(dtype),
                           preferred_element_type=jnp.float32) for tap in TAPS) for member in POOL_MEMBERS]
    best, winner = first_max(members)
    filters = best.shape[-1]
    pooled = jnp.maximum(best + bias_ref[k].astype(jnp.float32)[None, :], 0.0).astype(dtype)
    out_ref[k, b] = pooled.reshape(CONV2_GRID, CONV2_GRID, filters)
    winner_ref[k, b] = winner.astype(jnp.int8)


def synchronize():
    """A barrier between read-add-write passes over the same output: on a GPU a later pass reads what other warps
    stored (Triton orders nothing in global memory by itself); interpreted, everything runs in order."""
    if not interpreting():
        pltriton.debug_barrier()


def conv2_backward_kernel(x_ref, kernel_ref, out_ref, winner_ref, grad_ref, dx_ref, dkernel_ref, dbias_ref):
    """dW, db and dX (float32) of conv2. dX takes 36 read-add-write passes, one per member and tap, over strided
    blocks that overlap between passes: a barrier orders them, so the sums are exact and deterministic (atomic adds
    would not be)."""
    k = pl.program_id(0)
    positions, filters, channels = CONV2_GRID * CONV2_GRID, out_ref.shape[-1], x_ref.shape[-1]
    side = x_ref.shape[2]

    def one_image(b, sums):
        dkernel, dbias = sums
        pooled = out_ref[k, b].reshape(positions, filters)
        grad = jnp.where(pooled > 0, grad_ref[k, b].reshape(positions, filters).astype(jnp.float32), 0.0)
        winner = winner_ref[k, b].astype(jnp.int32)
        dx_ref[k, b, pl.ds(0, CONV1_GRID), pl.ds(0, CONV1_GRID), :] = jnp.zeros((CONV1_GRID, CONV1_GRID, channels),
                                                                                dx_ref.dtype)
        store_zero_margin(dx_ref, k, b, CONV1_GRID, side, channels, dx_ref.dtype)
        synchronize()
        dkernel = list(dkernel)
        for m, member in enumerate(POOL_MEMBERS):
            member_grad = jnp.where(winner == m, grad, 0.0)
            for t, (i, j) in enumerate(TAPS):
                patch = conv2_patch(x_ref, k, b, member, (i, j), jnp.float32)
                dkernel[t] = dkernel[t] + jnp.dot(patch.T, member_grad, preferred_element_type=jnp.float32)
                dx = jnp.dot(member_grad, kernel_ref[k, i, j].astype(jnp.float32).T, preferred_element_type=jnp.float32)
                rows, columns = pl.ds(member[0] + i, CONV2_GRID, 2), pl.ds(member[1] + j, CONV2_GRID, 2)
                dx_ref[k, b, rows, columns, :] += dx.reshape(CONV2_GRID, CONV2_GRID, channels)
                synchronize()
        return tuple(dkernel), dbias + grad.sum(axis=0)

    zeros = tuple(jnp.zeros((channels, filters), jnp.float32) for _ in TAPS)
    dkernel, dbias = jax.lax.fori_loop(0, x_ref.shape[1], one_image, (zeros, jnp.zeros((filters,), jnp.float32)))
    for t, (i, j) in enumerate(TAPS):
        dkernel_ref[k, i, j] = dkernel[t]
    dbias_ref[k] = dbias


def conv2_forward(x, kernel, bias, dtype):
    copies, batch, filters = x.shape[0], x.shape[1], kernel.shape[-1]
    out_shape = (jax.ShapeDtypeStruct((copies, batch, CONV2_GRID, CONV2_GRID, filters), dtype),
                 jax.ShapeDtypeStruct((copies, batch, CONV2_GRID * CONV2_GRID, filters), jnp.int8))
    return call(conv2_forward_kernel, out_shape, (copies, batch), x, kernel, bias)


@functools.partial(jax.custom_vjp, nondiff_argnums=(3,))
def conv2_pool(x, kernel, bias, dtype):
    """conv2 + bias + ReLU + pool of every copy: x (K, B, 18, 18, C), conv1_pool's output -> (K, B, 8, 8, F), the
    pooled 6 x 6 map in the top-left."""
    return conv2_forward(x, kernel, bias, dtype)[0]


def conv2_pool_forward(x, kernel, bias, dtype):
    out, winner = conv2_forward(x, kernel, bias, dtype)
    return out, (x, kernel, out, winner)


def conv2_pool_backward(dtype, residuals, grad):
    x, kernel, out, winner = residuals
    copies, filters = x.shape[0], kernel.shape[-1]
    out_shape = (jax.ShapeDtypeStruct(x.shape, jnp.float32), jax.ShapeDtypeStruct(kernel.shape, jnp.float32),
                 jax.ShapeDtypeStruct((copies, filters), jnp.float32))
    dx, dkernel, dbias = call(conv2_backward_kernel, out_shape, (copies,), x, kernel, out, winner, grad)
    return dx.astype(x.dtype), dkernel.astype(kernel.dtype), dbias.astype(kernel.dtype)


conv2_pool.defvjp(conv2_pool_forward, conv2_pool_backward)


def pallas_logits(model, weights, images, index):
    """The packed model's logits (lesion.model.packed.build_packed_cnn) with conv1 and conv2 as these kernels: images
    in `space_to_depth_images` layout, index (K, B) each copy's minibatch; conv3 and above are the model's layers,
    and the kernels compute in the model's compute dtype."""
    dtype = jnp.dtype(model.get_layer("conv1").compute_dtype)
    x = conv2_pool(conv1_pool(images, index, weights[0], weights[1], dtype), weights[2], weights[3], dtype)
    x, used = x[:, :, :CONV2_POOLED, :CONV2_POOLED, :], 4
    names = [layer.name for layer in model.layers]
    for layer in model.layers[names.index("conv2") + 1 :]:
        count = len(layer.trainable_weights)
        x, _ = layer.stateless_call(list(weights[used : used + count]), [], x)
        used += count
    return x
