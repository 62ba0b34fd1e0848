"""K copies of the study's CNN that return every layer's activation, and the pre-activations of its ReLU layers,
what every score reads."""

from keras import ops

from lesion.model.packed import PackedConv2D, PackedDense, build_packed


def linear(layer, kernel, bias, x):
    """The layer's output before its ReLU: lesion.model.packed's computation, with each copy's convolution the
    backend's native one (twice as fast as the packed patch product in input-space optimization on a CPU:
    0.11 against 0.23 s for a gradient of 3 models x 40 images, TensorFlow, 2 cores)."""
    if isinstance(layer, PackedDense):
        return ops.einsum("kbi,kio->kbo", x, kernel) + bias[:, None, :]
    y = ops.stack([ops.conv(x[k], kernel[k], padding="valid") for k in range(layer.copies)])
    return y + bias[:, None, None, None, :]


def has_relu(layer):
    return isinstance(layer, PackedConv2D) or (isinstance(layer, PackedDense) and layer.activation.__name__ == "relu")


class PackedNet:
    """K copies of the study's CNN: (weights, x) -> {layer name: activation, "<layer>:pre": its pre-activation}.

    The pre-activation (the layer's input to its ReLU) is what caricatures maximize: it has a gradient where the
    ReLU is off, so the optimization can leave an image that silences the channel. `upto` stops after that layer.
    """

    def __init__(self, copies):
        self.model = build_packed(copies)

    def __call__(self, weights, x, upto=None):
        activations, used = {}, 0
        for layer in self.model.layers:
            count = len(layer.trainable_weights)
            own = list(weights[used : used + count])
            if has_relu(layer):
                pre = linear(layer, own[0], own[1], x)
                activations[f"{layer.name}:pre"] = pre
                x = ops.relu(pre)
            else:
                x, _ = layer.stateless_call(own, [], x)
            activations[layer.name], used = x, used + count
            if layer.name == upto:
                break
        return activations
