"""K copies of a study network that return every layer's activation, and the pre-activations of its ReLU layers,
what every score reads.

The layers and their wiring are read off the plain model (lesion.model.networks), and every map is whole: the
tutorial CNN's conv1 30 x 30, pool1 15 x 15, as a reader of a caricature expects, where the training layers
(lesion.model.packed) skip the rows the logits never read. Weightless layers run as the packed ones do.
"""

from keras import ops

from lesion.model.packed import packed_layer


def convolve(x, kernel, bias, padding):
    """Each copy's 3x3 convolution plus bias, the backend's native one (twice as fast as a patch product in
    input-space optimization on a CPU: 0.11 against 0.23 s for a gradient of 3 models x 40 images, TensorFlow,
    2 cores)."""
    y = ops.stack([ops.conv(x[k], kernel[k], padding=padding) for k in range(kernel.shape[0])])
    return y + bias[:, None, None, None, :]


class PackedNet:
    """K copies of `network`: (weights, x) -> {layer name: activation, "<layer>:pre": its pre-activation}.

    The pre-activation (the layer's input to its ReLU) is what caricatures maximize: it has a gradient where the
    ReLU is off, so the optimization can leave an image that silences the channel. `upto` stops after that layer.
    """

    def __init__(self, network):
        self.model = network.plain()
        self.weightless = {layer.name: packed_layer(layer, 1, None) for layer in self.model.layers
                           if not layer.weights and type(layer).__name__ != "InputLayer"}

    def __call__(self, weights, x, upto=None):
        activations, used = {}, 0
        values = {id(self.model.inputs[0]): x}
        for layer in self.model.layers:
            if type(layer).__name__ == "InputLayer":
                continue
            inputs = [values[id(t)] for t in layer.input] if isinstance(layer.input, list) else values[id(layer.input)]
            if layer.name in self.weightless:
                y = self.weightless[layer.name](inputs)
            else:
                own = list(weights[used : used + len(layer.weights)])
                used += len(own)
                y = (convolve(inputs, *own, layer.padding) if type(layer).__name__ == "Conv2D" else
                     ops.einsum("kbi,kio->kbo", inputs, own[0]) + own[1][:, None, :])
                if layer.activation.__name__ == "relu":
                    activations[f"{layer.name}:pre"] = y
                    y = ops.relu(y)
            values[id(layer.output)] = activations[layer.name] = y
            if layer.name == upto:
                break
        return activations
