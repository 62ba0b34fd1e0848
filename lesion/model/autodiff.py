"""Gradients, compilation and placement for pure functions of tensors, on whichever Keras backend is active.

Keras 3 offers a stateless model call (`model.stateless_call`) on every backend but no backend-neutral gradient
(and its TensorFlow optimizers have no stateless step, hence lesion.model.adam.Adam); this module holds the
project's backend-specific code.

A pack's copies share nothing, so with JAX on several local devices (GPUs, or CPU devices forced with
XLA_FLAGS=--xla_force_host_platform_device_count=N) the leading copy axis of every per-copy tensor is sharded over a
1-D mesh of them: each device trains its own copies, and the compiled step needs no collective. Packs are padded to
a multiple of the device count (`copy_slots`, `pad_copies`). TensorFlow and torch use one device.
"""

import keras
import numpy as np
from keras import ops

COPY_AXIS = "copies"


def value_and_grad(fn):
    """Return g(args, *rest) -> (fn(args, *rest), d fn / d args), `args` a list of tensors.

    `fn` returns (scalar, aux); only the scalar is differentiated.
    """
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.value_and_grad(fn, has_aux=True)
    if backend == "tensorflow":
        import tensorflow as tf

        def tf_grad(args, *rest):
            with tf.GradientTape() as tape:
                tape.watch(args)
                value, aux = fn(args, *rest)
            return (value, aux), tape.gradient(value, args)

        return tf_grad
    if backend == "torch":
        import torch

        def torch_grad(args, *rest):
            args = [a.detach().requires_grad_(True) for a in args]
            value, aux = fn(args, *rest)
            grads = torch.autograd.grad(value, args)
            return (value.detach(), _detach(aux)), list(grads)

        return torch_grad
    raise ValueError(f"unsupported Keras backend {backend!r}: use tensorflow, jax or torch")


def _detach(tree):
    return keras.tree.map_structure(lambda t: t.detach(), tree)


def copy_mesh():
    """The 1-D mesh of every local JAX device the copy axis is sharded over; None for one device or another backend."""
    if keras.backend.backend() != "jax":
        return None
    import jax

    devices = jax.local_devices()
    return jax.sharding.Mesh(np.array(devices), (COPY_AXIS,)) if len(devices) > 1 else None


def copy_device_count():
    """How many devices a pack's copies are spread over."""
    mesh = copy_mesh()
    return 1 if mesh is None else mesh.size


def copy_slots(copies):
    """Copies padded up to a multiple of the devices the copy axis is sharded over (unchanged on one device)."""
    devices = copy_device_count()
    return -(-copies // devices) * devices


def pad_copies(arrays, slots):
    """Numpy arrays with a leading copy axis, the last copy repeated up to `slots` copies (callers drop the
    repeats); an array that already has `slots` copies, numpy or tensor, is returned as it is."""
    return [a if a.shape[0] == slots else np.concatenate([a, np.repeat(a[-1:], slots - a.shape[0], axis=0)])
            for a in arrays]


def _shardings(mesh, copy_axes):
    """The sharding of each leaf of `copy_axes` (a pytree of booleans): True = copy axis first, sharded."""
    import jax
    from jax.sharding import NamedSharding, PartitionSpec

    sharded, replicated = NamedSharding(mesh, PartitionSpec(COPY_AXIS)), NamedSharding(mesh, PartitionSpec())
    return jax.tree_util.tree_map(lambda copy_axis: sharded if copy_axis else replicated, copy_axes)


def tensorflow_uses_xla():
    """Whether TensorFlow compiles with XLA: where it sees a GPU, as Keras' own jit_compile="auto" decides. On a
    CPU XLA made the step 100x slower (2.4 s against 24 ms, measured), so it runs the plain graph there."""
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def compile(fn, copy_axes=None, out_copy_axes=None):
    """Compile a pure function once for the active backend (jax.jit, tf.function); torch runs eagerly.

    `copy_axes` has one entry per argument of `fn`, `out_copy_axes` describes its output (one entry per output of
    a tuple): True where the tensors carry the pack's copy axis first, False where every copy sees the same tensor
    (a pytree prefix, so [False, True] describes a list whose first entry is shared). With JAX on several devices
    they shard the copy axis.
    """
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        mesh = copy_mesh()
        if mesh is None or copy_axes is None:
            return jax.jit(fn)
        return jax.jit(fn, in_shardings=_shardings(mesh, tuple(copy_axes)),
                       out_shardings=_shardings(mesh, out_copy_axes))
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, reduce_retracing=True, jit_compile=tensorflow_uses_xla())
    return fn


def place(tensor, copy_axis):
    """`tensor` (or a pytree of them) on the device(s) once, sharded like `compile`'s arguments (`copy_axis` as
    there), so compiled calls never move it again."""
    mesh = copy_mesh()
    if mesh is None:
        return keras.tree.map_structure(ops.convert_to_tensor, tensor)
    import jax

    return jax.device_put(tensor, _shardings(mesh, copy_axis))
