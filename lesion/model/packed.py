"""K independent copies of the study's CNN as one Keras model, so one step trains them all.

Tensors carry a leading copy axis: images (K, B, 32, 32, 3) -> logits (K, B, 10). Every layer holds its own
weights per copy and mixes nothing across copies, so each copy computes exactly what the plain model of
`lesion.model.cnn.build_cnn` computes with the same weights, and receives exactly its own gradient when the loss is a
sum over copies. Convolutions are written as patch extraction plus a batched matrix product (einsum): one dense
GEMM per layer for all copies, which every backend runs well (TensorFlow has no grouped convolutions on the CPU);
on an H100 it beat grouped convolutions and sums of shifted products (benchmarks/layer_profile.py).
"""

import keras
from keras import layers, ops

from lesion.model.cnn import IMAGE_SHAPE, NUM_CLASSES


class PackedConv2D(layers.Layer):
    """K separate 3x3 'valid' convolutions with ReLU: (K, B, H, W, C) -> (K, B, H-2, W-2, filters)."""

    def __init__(self, copies, filters, **kwargs):
        super().__init__(**kwargs)
        self.copies, self.filters = copies, filters

    def build(self, input_shape):
        channels = input_shape[-1]
        self.kernel = self.add_weight(shape=(self.copies, 3, 3, channels, self.filters), name="kernel")
        self.bias = self.add_weight(shape=(self.copies, self.filters), initializer="zeros", name="bias")

    def call(self, x):
        if self.copies == 1:  # a lone copy: the backend's native convolution is faster, on the CPU above all
            y = ops.conv(x[0], self.kernel[0], padding="valid")[None]
            return ops.relu(y + self.bias[:, None, None, None, :])
        height, width, channels = x.shape[2] - 2, x.shape[3] - 2, x.shape[4]
        # Patch features in (row, column, channel) order, the order of the kernel's first three axes.
        patches = ops.concatenate(
            [x[:, :, i : i + height, j : j + width, :] for i in range(3) for j in range(3)], axis=-1
        )
        kernel = ops.reshape(self.kernel, (self.copies, 9 * channels, self.filters))
        y = ops.einsum("kbhwp,kpf->kbhwf", patches, kernel)
        return ops.relu(y + self.bias[:, None, None, None, :])


# Whether a lone copy trains faster with the backend's own pooling window than with the reshape below, measured
# with benchmarks/train_speed.py --pack-size 1 (ms per step, native against reshape): TensorFlow 7.6 vs 14.4 and
# torch 13.2 vs 18.2 on a 2-core CPU; JAX about 25 vs 11 on the CPU and 0.96 vs 0.56 on an H100, because XLA's
# pooling gradient is a slow select-and-scatter.
NATIVE_POOLING_IS_FASTER = {"tensorflow": True, "torch": True, "jax": False}


class PackedMaxPool(layers.Layer):
    """2x2 max pooling of every copy (floor, as Keras' MaxPooling2D).

    Written as a reshape and a max rather than a pooling window: its gradient is then an elementwise mask that
    XLA fuses, where a window's gradient (select-and-scatter) took 1.5-2x longer on an H100
    (benchmarks/layer_profile.py).
    """

    def call(self, x):
        if x.shape[0] == 1 and NATIVE_POOLING_IS_FASTER[keras.backend.backend()]:
            return ops.max_pool(x[0], 2, 2, padding="valid")[None]
        height, width, channels = x.shape[2] // 2, x.shape[3] // 2, x.shape[4]
        x = x[:, :, : 2 * height, : 2 * width, :]
        x = ops.reshape(x, (ops.shape(x)[0], ops.shape(x)[1], height, 2, width, 2, channels))
        return ops.max(x, axis=(3, 5))


class PackedFlatten(layers.Layer):
    """Row-major flatten of each image, as Keras' Flatten."""

    def call(self, x):
        features = x.shape[2] * x.shape[3] * x.shape[4]
        return ops.reshape(x, (ops.shape(x)[0], ops.shape(x)[1], features))


class PackedDense(layers.Layer):
    """K separate dense layers: (K, B, n) -> (K, B, units)."""

    def __init__(self, copies, units, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.copies, self.units, self.activation = copies, units, keras.activations.get(activation)

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(self.copies, input_shape[-1], self.units), name="kernel")
        self.bias = self.add_weight(shape=(self.copies, self.units), initializer="zeros", name="bias")

    def call(self, x):
        return self.activation(ops.einsum("kbi,kio->kbo", x, self.kernel) + self.bias[:, None, :])


def build_packed(copies):
    """The study's CNN, `copies` times over; weights in `lesion.model.cnn.WEIGHT_SPECS` order with a leading K axis."""
    model = keras.Sequential(
        [
            PackedConv2D(copies, 32, name="conv1"),
            PackedMaxPool(name="pool1"),
            PackedConv2D(copies, 64, name="conv2"),
            PackedMaxPool(name="pool2"),
            PackedConv2D(copies, 64, name="conv3"),
            PackedFlatten(name="flatten"),
            PackedDense(copies, 64, activation="relu", name="dense"),
            PackedDense(copies, NUM_CLASSES, name="logits"),
        ],
        name=f"packed_cnn_{copies}",
    )
    model.build((copies, None) + IMAGE_SHAPE)
    return model
