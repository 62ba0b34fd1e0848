"""K independent copies of a study network as one Keras model, so one step trains them all.

Tensors carry a leading copy axis: images (K, B, H, W, C) -> logits (K, B, classes). Every layer holds its own
weights per copy and mixes nothing across copies, so each copy computes what the plain model (lesion.model.cnn)
computes with the same weights (up to the order of float sums), and receives exactly its own gradient when the loss
is a sum over copies. `packed_from_plain` packs any plain model made of the layers it knows (top_down);
`build_packed_cnn`, the tutorial CNN and wide_cnn, is shaped for memory traffic.

The tutorial CNN's computation, exactly equivalent to the plain model (sizes for 32 x 32 images):
- Dead work is cut: pool2 floors conv2's 13 x 13 map to 12 x 12, so conv2 needs only 12 x 12 outputs, pool1 only
  14 x 14 (28 x 28 of conv1's outputs) and conv1 only the top-left 30 x 30 of the image (`used_input_size`).
- Convolution, bias, ReLU and 2 x 2 max pooling are one layer (`PackedConvPool`) whose matrix product writes the
  four members of every pool window side by side, so the pool is a reduction over one short axis. conv1 is a
  space-to-depth product: each pooled output reads one 4 x 4 window at stride 2, and one row of the product against
  a kernel expanded to the four window positions gives all four members. conv2 orders its patch rows
  window-major (the four members of a window adjacent).
- The pool takes each window's first maximum, as Keras' MaxPooling2D does on every backend, and routes the gradient
  to it alone (a one-hot mask), so ties, common where an image is flat, train as in the plain model. Bias and ReLU
  follow the max (both are monotonic, so the maximum is the same member).
Convolutions are batched matrix products (einsum) over patches: one GEMM per layer for all copies, which every
backend runs well (TensorFlow has no grouped convolutions on the CPU); on an H100 it beat grouped convolutions and
sums of shifted products (benchmarks/layer_profile.py). A lone copy uses the backend's native convolution, faster on
a CPU.
"""

import keras
from keras import layers, ops

from lesion.model.cnn import to_unit_range, widened

# Whether a lone copy trains faster with the backend's own pooling window than with the member axis, measured
# with benchmarks/train_speed.py --pack-size 1 (ms per step, native against reshape): TensorFlow 7.6 vs 14.4 and
# torch 13.2 vs 18.2 on a 2-core CPU; JAX about 25 vs 11 on the CPU and 0.96 vs 0.56 on an H100, because XLA's
# pooling gradient is a slow select-and-scatter.
NATIVE_POOLING_IS_FASTER = {"tensorflow": True, "torch": True, "jax": False}
POOL_MEMBERS = ((0, 0), (0, 1), (1, 0), (1, 1))  # a window's members in Keras' scan order: its first maximum wins


def used_input_size(size):
    """The image rows (and columns) the logits depend on: each 3x3 convolution reads 2 more than it writes, and a
    floor 2x2 pool reads twice what it writes, so a last odd row is never read (32 -> 30 for the study's CNN)."""
    pooled = ((size - 2) // 2 - 2) // 2  # conv1, pool1, conv2, pool2: 6
    return (pooled * 2 + 2) * 2 + 2


class PackedCrop(layers.Layer):
    """The top-left `size` x `size` of every image: the part the logits depend on."""

    def __init__(self, size, **kwargs):
        super().__init__(**kwargs)
        self.size = size

    def call(self, x):
        return x[:, :, : self.size, : self.size, :]


def first_max(members):
    """The first maximum over the member axis (-2): (K, B, P, Q, 4, F) -> (K, B, P, Q, F). The gradient reaches the
    winning member only, as in Keras' MaxPooling2D (the first maximum in scan order)."""
    member_axis = len(members.shape) - 2  # counted from the front: TensorFlow's one_hot takes no other negative axis
    winner = ops.one_hot(ops.argmax(members, axis=member_axis), len(POOL_MEMBERS), axis=member_axis,
                         dtype=members.dtype)
    return ops.sum(members * winner, axis=member_axis)


def pool_members(members, bias):
    """ReLU(first maximum over the member axis + bias): (K, B, P, Q, 4, F) -> (K, B, P, Q, F)."""
    return ops.relu(first_max(members) + bias[:, None, None, None, :])


def max_pool(x):
    """2x2 max pooling (floor) of every copy, (K, B, H, W, F) -> (K, B, H // 2, W // 2, F), routed as Keras'."""
    return first_max(window_members(x[:, :, : x.shape[2] // 2 * 2, : x.shape[3] // 2 * 2, :]))


def window_members(y):
    """The four members of every 2x2 window of an even map, side by side: (K, B, 2P, 2Q, F) -> (K, B, P, Q, 4, F)."""
    return ops.stack([y[:, :, di::2, dj::2, :] for di, dj in POOL_MEMBERS], axis=-2)


class PackedConvPool(layers.Layer):
    """K separate 3x3 'valid' convolutions with bias, ReLU and 2x2 max pooling, fused: (K, B, 2P+2, 2Q+2, C) ->
    (K, B, P, Q, filters). `layout`: 'space_to_depth' (conv1: few input channels) or 'window_major' (conv2)."""

    def __init__(self, copies, filters, layout, **kwargs):
        super().__init__(**kwargs)
        self.copies, self.filters, self.layout = copies, filters, layout

    def build(self, input_shape):
        channels = input_shape[-1]
        self.kernel = self.add_weight(shape=(self.copies, 3, 3, channels, self.filters), name="kernel")
        self.bias = self.add_weight(shape=(self.copies, self.filters), initializer="zeros", name="bias")

    def call(self, x):
        if self.copies == 1:  # a lone copy: the backend's native convolution is faster, on the CPU above all
            y = ops.conv(x[0], self.kernel[0], padding="valid")[None]
            if NATIVE_POOLING_IS_FASTER[keras.backend.backend()]:
                return ops.max_pool(ops.relu(y + self.bias[:, None, None, None, :])[0], 2, 2, padding="valid")[None]
            return pool_members(window_members(y), self.bias)
        members = self.space_to_depth(x) if self.layout == "space_to_depth" else self.window_major(x)
        return pool_members(members, self.bias)

    def space_to_depth(self, x):
        """Members from one product per pooled output: its 4x4 window at stride 2 (16 x C values) against the
        kernel placed at each member's offset in the window (zeros elsewhere)."""
        pooled_h, pooled_w, channels = (x.shape[2] - 2) // 2, (x.shape[3] - 2) // 2, x.shape[4]
        windows = ops.concatenate([x[:, :, a : a + 2 * pooled_h : 2, b : b + 2 * pooled_w : 2, :]
                                   for a in range(4) for b in range(4)], axis=-1)
        placed = ops.stack([ops.pad(self.kernel, [[0, 0], [di, 1 - di], [dj, 1 - dj], [0, 0], [0, 0]])
                            for di, dj in POOL_MEMBERS], axis=-2)  # (K, 4, 4, C, 4 members, F)
        expanded = ops.reshape(placed, (self.copies, 16 * channels, len(POOL_MEMBERS) * self.filters))
        y = ops.einsum("kbpqi,kio->kbpqo", windows, expanded)
        return ops.reshape(y, (ops.shape(y)[0], ops.shape(y)[1], pooled_h, pooled_w, len(POOL_MEMBERS), self.filters))

    def window_major(self, x):
        """Members from patch rows ordered window-major: for each member, the 3x3 patches of its conv outputs,
        taken at stride 2, so the product writes the four members of a window side by side."""
        pooled_h, pooled_w, channels = (x.shape[2] - 2) // 2, (x.shape[3] - 2) // 2, x.shape[4]
        patches = ops.stack([ops.concatenate(
            [x[:, :, di + i : di + i + 2 * pooled_h : 2, dj + j : dj + j + 2 * pooled_w : 2, :]
             for i in range(3) for j in range(3)], axis=-1) for di, dj in POOL_MEMBERS], axis=-2)
        kernel = ops.reshape(self.kernel, (self.copies, 9 * channels, self.filters))
        return ops.einsum("kbpqmi,kif->kbpqmf", patches, kernel)


class PackedConv2D(layers.Layer):
    """K separate 3x3 convolutions with bias and an activation: (K, B, H, W, C) -> (K, B, H', W', filters), 'valid'
    (H' = H - 2) or 'same' (H' = H, zero padding) as Keras' Conv2D."""

    def __init__(self, copies, filters, padding="valid", activation="relu", **kwargs):
        super().__init__(**kwargs)
        self.copies, self.filters, self.padding = copies, filters, padding
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        channels = input_shape[-1]
        self.kernel = self.add_weight(shape=(self.copies, 3, 3, channels, self.filters), name="kernel")
        self.bias = self.add_weight(shape=(self.copies, self.filters), initializer="zeros", name="bias")

    def call(self, x):
        if self.copies == 1:
            y = ops.conv(x[0], self.kernel[0], padding=self.padding)[None]
            return self.activation(y + self.bias[:, None, None, None, :])
        if self.padding == "same":
            x = ops.pad(x, [[0, 0], [0, 0], [1, 1], [1, 1], [0, 0]])
        height, width, channels = x.shape[2] - 2, x.shape[3] - 2, x.shape[4]
        # Patch features in (row, column, channel) order, the order of the kernel's first three axes.
        patches = ops.concatenate(
            [x[:, :, i : i + height, j : j + width, :] for i in range(3) for j in range(3)], axis=-1
        )
        kernel = ops.reshape(self.kernel, (self.copies, 9 * channels, self.filters))
        y = ops.einsum("kbhwp,kpf->kbhwf", patches, kernel)
        return self.activation(y + self.bias[:, None, None, None, :])


def average_pool(x, size):
    """size x size average pooling (floor) of every copy, as Keras' AveragePooling2D: (K, B, H, W, F) ->
    (K, B, H // size, W // size, F)."""
    rows, columns = x.shape[2] // size, x.shape[3] // size
    x = x[:, :, : rows * size, : columns * size, :]
    x = ops.reshape(x, (ops.shape(x)[0], ops.shape(x)[1], rows, size, columns, size, x.shape[4]))
    return ops.mean(x, axis=(3, 5))


def upsample(x, size):
    """Nearest-neighbour upsampling of every copy, as Keras' UpSampling2D: each pixel repeated size x size."""
    return ops.repeat(ops.repeat(x, size, axis=2), size, axis=3)


class PackedFunction(layers.Layer):
    """A weightless layer applied to every copy alike (pooling, upsampling, concatenation)."""

    def __init__(self, function, **kwargs):
        super().__init__(**kwargs)
        self.function = function

    def call(self, x):
        return self.function(x)


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


def build_packed_cnn(copies, image_shape, n_classes, width=1, dtype=None):
    """The tutorial CNN (wide_cnn with `width`), `copies` times over; weights in the plain model's order with a
    leading K axis. `dtype`: the layers' dtype policy (None: Keras' global one, train.precision)."""
    conv1, conv2, conv3, dense = widened(width)
    model = keras.Sequential(
        [
            PackedCrop(used_input_size(image_shape[0]), name="crop", dtype=dtype),
            PackedConvPool(copies, conv1, "space_to_depth", name="conv1", dtype=dtype),
            PackedConvPool(copies, conv2, "window_major", name="conv2", dtype=dtype),
            PackedConv2D(copies, conv3, name="conv3", dtype=dtype),
            PackedFlatten(name="flatten", dtype=dtype),
            PackedDense(copies, dense, activation="relu", name="dense", dtype=dtype),
            PackedDense(copies, n_classes, name="logits", dtype=dtype),
        ],
        name=f"packed_cnn_{copies}",
    )
    model.build((copies, None) + tuple(image_shape))
    return model


def packed_layer(layer, copies, dtype):
    """The packed twin of one plain Keras layer (same name, weights with a leading K axis)."""
    kind, name = type(layer).__name__, layer.name
    if kind == "Conv2D":
        if layer.kernel_size != (3, 3) or layer.strides != (1, 1):
            raise ValueError(f"{name}: only 3x3 convolutions at stride 1 are packed")
        return PackedConv2D(copies, layer.filters, layer.padding, layer.activation, name=name, dtype=dtype)
    if kind == "Dense":
        return PackedDense(copies, layer.units, layer.activation, name=name, dtype=dtype)
    if kind == "Flatten":
        return PackedFlatten(name=name, dtype=dtype)
    functions = {
        "AveragePooling2D": lambda x: average_pool(x, layer.pool_size[0]),
        "MaxPooling2D": max_pool,
        "UpSampling2D": lambda x: upsample(x, layer.size[0]),
        "Concatenate": lambda xs: ops.concatenate(xs, axis=-1),
    }
    if kind not in functions:
        raise ValueError(f"{name}: a {kind} layer has no packed form")
    return PackedFunction(functions[kind], name=name, dtype=dtype)


def packed_from_plain(plain, copies, dtype=None):
    """Any plain model of the layers `packed_layer` knows, `copies` times over, wired as the plain one: a
    functional Keras model whose weights come in the plain model's get_weights() order, each with a leading K
    axis."""
    image = keras.Input(batch_shape=(copies, None) + tuple(plain.inputs[0].shape[1:]))
    values = {id(plain.inputs[0]): image}
    for layer in plain.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        inputs = layer.input
        arguments = [values[id(t)] for t in inputs] if isinstance(inputs, list) else values[id(inputs)]
        values[id(layer.output)] = packed_layer(layer, copies, dtype)(arguments)
    return keras.Model(image, values[id(plain.outputs[0])], name=f"packed_{plain.name}_{copies}")


def pallas_fits(network):
    """Whether train.kernels: pallas can run `network`: the kernels' block layout is fixed to the tutorial CNN's
    conv1 and conv2 on 32 x 32 x 3 images."""
    return network.model == "tutorial_cnn" and network.image_shape == (32, 32, 3)


class PackedForward:
    """The packed forward pass of `network` (lesion.model.networks) from uint8 images, through XLA's ops
    (`kernels='xla'`) or with conv1 and conv2 of the tutorial CNN on 32 x 32 x 3 images as the fused Pallas kernels
    (`'pallas'`, JAX only, lesion.model.kernels), the same computation.

    `prepare` puts the training or test images in the layout the pass reads (once), `batch` picks each copy's
    minibatch (K, B indices) or, without indices, the same images for every copy, and `logits` runs the pass.
    `dtype` as build_packed_cnn's.
    """

    def __init__(self, network, copies, kernels="xla", dtype=None):
        if kernels == "pallas" and not pallas_fits(network):
            raise ValueError(f"the Pallas kernels are written for tutorial_cnn on 32x32x3 images, not "
                             f"{network.describe()}")
        self.model, self.kernels = network.packed(copies, dtype), kernels

    def prepare(self, images):
        if self.kernels == "xla":
            return images
        from lesion.model.kernels import space_to_depth_images

        return space_to_depth_images(images)

    def batch(self, prepared, index=None, copies=None):
        if self.kernels == "pallas":
            if index is None:
                index = ops.broadcast_to(ops.arange(prepared.shape[0], dtype="int32")[None], (copies, prepared.shape[0]))
            return prepared, index
        if index is None:
            return ops.broadcast_to(to_unit_range(prepared)[None], (copies,) + tuple(prepared.shape))
        return to_unit_range(ops.take(prepared, index, axis=0))

    def logits(self, weights, batch):
        if self.kernels == "xla":
            return self.model.stateless_call(weights, [], batch)[0]
        from lesion.model.kernels import pallas_logits

        return pallas_logits(self.model, weights, *batch)
