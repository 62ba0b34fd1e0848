"""K copies of the study's CNN that return every layer's activation, what every score reads."""

from lesion.model.packed import build_packed

class PackedNet:
    """K copies of the study's CNN returning every layer's activation: (weights, x) -> {layer name: tensor}."""

    def __init__(self, copies):
        self.model = build_packed(copies)

    def __call__(self, weights, x):
        activations, used = {}, 0
        for layer in self.model.layers:
            count = len(layer.trainable_weights)
            x, _ = layer.stateless_call(list(weights[used : used + count]), [], x)
            activations[layer.name], used = x, used + count
        return activations
