"""K copies of the study's CNN that return every layer's activation, and the pre-activations of its ReLU layers,
what every score reads.

The layers are read off the plain model (`lesion.model.cnn.build_cnn`), and every map is whole: conv1's 30 x 30,
pool1's 15 x 15, as a reader of a caricature expects, where the training layers (lesion.model.packed) skip the
rows the logits never read.
"""

from keras import layers, ops

from lesion.model.cnn import build_cnn
from lesion.model.packed import max_pool


def convolve(x, kernel, bias):
    """Each copy's 3x3 'valid' convolution plus bias, the backend's native one (twice as fast as a patch product in
    input-space optimization on a CPU: 0.11 against 0.23 s for a gradient of 3 models x 40 images, TensorFlow,
    2 cores)."""
    y = ops.stack([ops.conv(x[k], kernel[k], padding="valid") for k in range(kernel.shape[0])])
    return y + bias[:, None, None, None, :]


class PackedNet:
    """K copies of the study's CNN: (weights, x) -> {layer name: activation, "<layer>:pre": its pre-activation}.

    The pre-activation (the layer's input to its ReLU) is what caricatures maximize: it has a gradient where the
    ReLU is off, so the optimization can leave an image that silences the channel. `upto` stops after that layer.
    """

    def __init__(self):
        self.layers = build_cnn().layers

    def __call__(self, weights, x, upto=None):
        activations, used = {}, 0
        for layer in self.layers:
            own = list(weights[used : used + len(layer.weights)])
            used += len(own)
            if isinstance(layer, layers.MaxPooling2D):
                x = max_pool(x)
            elif isinstance(layer, layers.Flatten):
                x = ops.reshape(x, (ops.shape(x)[0], ops.shape(x)[1], -1))
            else:
                linear = (convolve(x, *own) if isinstance(layer, layers.Conv2D) else
                          ops.einsum("kbi,kio->kbo", x, own[0]) + own[1][:, None, :])
                if layer.activation.__name__ == "relu":
                    activations[f"{layer.name}:pre"] = linear
                    linear = ops.relu(linear)
                x = linear
            activations[layer.name] = x
            if layer.name == upto:
                break
        return activations
