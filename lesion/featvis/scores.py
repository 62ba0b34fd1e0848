"""Scores (objectives): activations -> a (K, B) score to maximize. Item b of the batch aims at layer layers[b], so
one optimization covers items aimed at different layers."""

import numpy as np
from keras import ops


def spatial_mean(activation):
    """(K, B, H, W, C) or (K, B, C) -> (K, B, C)."""
    return ops.mean(activation, axis=(2, 3)) if len(activation.shape) == 5 else activation


class _PerItemLayer:
    """Base of objectives whose batch items each aim at one layer: sums a per-layer score masked by item."""

    def __init__(self, layers):
        self.layers = list(layers)
        self.masks = {name: np.array([name == l for l in self.layers], np.float32) for name in set(self.layers)}

    def __call__(self, activations):
        return sum(self.masks[name] * self.layer_score(name, activations[name]) for name in self.masks)


class Channel(_PerItemLayer):
    """Mean activation of channel channels[b] of layer layers[b], times signs[b] (-1 minimizes): a class logit
    on the `logits` layer (HappyMaps, SadMaps with -1), a feature of a hidden layer (caricatures)."""

    def __init__(self, layers, channels, signs=None):
        super().__init__(layers)
        self.channels = np.asarray(channels)
        self.signs = np.ones(len(self.layers), np.float32) if signs is None else np.asarray(signs, np.float32)

    def layer_score(self, name, activation):
        size = activation.shape[-1]  # items aimed at other layers are masked out, whatever their channel
        picks = np.eye(size, dtype=np.float32)[self.channels % size] * (self.masks[name] * self.signs)[:, None]
        return ops.sum(spatial_mean(activation) * picks, axis=-1)


class ScaledChannel(Channel):
    """Channel's score with a weight per model and item, `gains` (K, B): each model's channels on their own scale
    (a weight of 0 leaves an item out)."""

    def __init__(self, layers, channels, gains):
        super().__init__(layers, channels)
        self.gains = np.asarray(gains, np.float32)

    def __call__(self, activations):
        return self.gains * super().__call__(activations)


class ActivationMatch(_PerItemLayer):
    """Minus the relative squared distance of layers[b]'s activation to `targets[name]` (K, B, ...): inversion."""

    def __init__(self, layers, targets):
        super().__init__(layers)
        self.targets = {name: np.asarray(targets[name], np.float32) for name in self.masks}

    def layer_score(self, name, activation):
        target = self.targets[name]
        axes = tuple(range(2, target.ndim))
        return -ops.sum(ops.square(activation - target), axis=axes) / (np.sum(np.square(target), axis=axes) + 1e-6)
