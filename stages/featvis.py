"""Feature visualization by optimization in input space, for packs of K models at once (tf-keras-vis style).

`ActivationMaximization(net, image)(weights, objective, seed_input, regularizers, modifiers, steps)` runs Adam on
an image parameterization so as to raise `objective` on what the packed net computes. Every tensor carries the
pack's leading copy axis (K, B, ...): models on K, classes/channels/restarts/images on B, so one compiled step
advances every image of a technique. The pieces are tiny callables:

- parameterizations (`PixelImage`, `FourierImage`) map free parameters to images in [0, 1];
- objectives (`Channel`, `LayerPower`, `ActivationMatch`) score each image (K, B) from the net's activations,
  each batch item picking its own layer, so one optimization covers items aimed at different layers;
- regularizers (`LpNorm`, `TotalVariation`) return a (K, B) penalty of the image;
- modifiers (`Jitter`, `Scale`) transform the image before the net sees it, with randomness drawn on the host
  per step (`draw`), so the compiled step stays pure and a seed reproduces a run.

Only `stages.autodiff` touches a backend, so this runs on TensorFlow, JAX and torch alike.
"""

import keras
import numpy as np
from keras import ops

from stages import autodiff
from stages.cnn import IMAGE_SHAPE
from stages.packed import build_packed
from stages.trainer import Adam

LAYERS = ("conv1", "conv2", "conv3", "dense", "logits")


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


# Parameterizations: free parameters (numpy at the start, tensors while optimizing) -> images in [0, 1].


class PixelImage:
    """One free parameter per pixel and channel, squashed by a sigmoid."""

    def __init__(self, sd=0.5):
        self.sd = sd

    def init(self, rng, batch_shape):
        return rng.normal(0, self.sd, size=batch_shape + IMAGE_SHAPE).astype(np.float32)

    def from_images(self, images):
        """Parameters reproducing `images` (values in [0, 1]): the starting point of DeepDream."""
        clipped = np.clip(images, 0.01, 0.99)
        return np.log(clipped / (1 - clipped)).astype(np.float32)

    def __call__(self, params):
        return ops.sigmoid(params)


# Lucid's square root of the ImageNet colour correlation: spectra are drawn per decorrelated colour channel.
COLOR_SQRT = np.array([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], np.float32)
COLOR_SQRT /= np.max(np.linalg.norm(COLOR_SQRT, axis=0))


class FourierImage:
    """Lucid's parameterization: a real 2-D spectrum scaled by 1/frequency, colours decorrelated, then a sigmoid.

    Scaling the spectrum lets every frequency move at the same pace under gradient descent, where pixels favour
    high-frequency noise. The inverse real FFT is written as real matrix products (exactly numpy's irfft2), which
    every backend differentiates.
    """

    def __init__(self, sd=0.1, decay=1.0):
        height, width, _ = IMAGE_SHAPE
        self.sd, self.columns = sd, width // 2 + 1
        inverse_rows = np.fft.ifft(np.eye(height), axis=0)  # complex (height, height): along the first axis
        self.rows_real = inverse_rows.real.astype(np.float32)
        self.rows_imag = inverse_rows.imag.astype(np.float32)
        eye = np.eye(self.columns)
        self.cols_real = np.fft.irfft(eye, n=width).astype(np.float32)  # (columns, width)
        self.cols_imag = np.fft.irfft(1j * eye, n=width).astype(np.float32)
        frequency = np.hypot(np.fft.fftfreq(height)[:, None], np.fft.rfftfreq(width)[None, :])
        scale = np.sqrt(height * width) / np.maximum(frequency, 1.0 / max(height, width)) ** decay
        self.scale = (scale / 4.0).astype(np.float32)[:, :, None]  # (height, columns, 1), Lucid's /4

    def init(self, rng, batch_shape):
        height, _, channels = IMAGE_SHAPE
        return rng.normal(0, self.sd, size=batch_shape + (2, height, self.columns, channels)).astype(np.float32)

    def irfft2(self, real, imag):
        """numpy's irfft2 over axes (-3, -2) of (..., height, columns, channels) spectra."""
        rows_real = ops.einsum("yu,kbuvc->kbyvc", self.rows_real, real) - ops.einsum(
            "yu,kbuvc->kbyvc", self.rows_imag, imag)
        rows_imag = ops.einsum("yu,kbuvc->kbyvc", self.rows_imag, real) + ops.einsum(
            "yu,kbuvc->kbyvc", self.rows_real, imag)
        return ops.einsum("kbyvc,vx->kbyxc", rows_real, self.cols_real) + ops.einsum(
            "kbyvc,vx->kbyxc", rows_imag, self.cols_imag)

    def __call__(self, params):
        decorrelated = self.irfft2(params[:, :, 0] * self.scale, params[:, :, 1] * self.scale)
        return ops.sigmoid(ops.einsum("kbyxc,dc->kbyxd", decorrelated, COLOR_SQRT))


# Objectives: activations -> score (K, B) to maximize. Item b of the batch aims at layer layers[b].


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


class LayerPower(_PerItemLayer):
    """Mean squared activation of layers[b]: DeepDream amplifies whatever the layer already responds to."""

    def layer_score(self, name, activation):
        return ops.mean(ops.reshape(ops.square(activation), tuple(activation.shape[:2]) + (-1,)), axis=-1)


class ActivationMatch(_PerItemLayer):
    """Minus the relative squared distance of layers[b]'s activation to `targets[name]` (K, B, ...): inversion."""

    def __init__(self, layers, targets):
        super().__init__(layers)
        self.targets = {name: np.asarray(targets[name], np.float32) for name in self.masks}

    def layer_score(self, name, activation):
        target = self.targets[name]
        axes = tuple(range(2, target.ndim))
        return -ops.sum(ops.square(activation - target), axis=axes) / (np.sum(np.square(target), axis=axes) + 1e-6)


# Regularizers: image (K, B, H, W, 3) -> penalty (K, B).


class LpNorm:
    """weight * the Lp norm of the image's departure from mid-grey (per pixel value): keeps colours in range."""

    def __init__(self, weight, p=6):
        self.weight, self.p = weight, p

    def __call__(self, image):
        return self.weight * ops.mean(ops.abs(image - 0.5) ** self.p, axis=(2, 3, 4)) ** (1.0 / self.p)


class TotalVariation:
    """weight * the mean absolute difference of neighbouring pixels: a prior for natural, smooth images."""

    def __init__(self, weight):
        self.weight = weight

    def __call__(self, image):
        return self.weight * total_variation(image)


def total_variation(image):
    """Mean absolute difference between vertical and horizontal neighbours, per image: (K, B, H, W, C) -> (K, B)."""
    down = ops.mean(ops.abs(image[:, :, 1:] - image[:, :, :-1]), axis=(2, 3, 4))
    right = ops.mean(ops.abs(image[:, :, :, 1:] - image[:, :, :, :-1]), axis=(2, 3, 4))
    return down + right


# Modifiers: (image, this step's random draw) -> image the net sees; `draw(rng)` runs on the host.


class Jitter:
    """Shift the image by up to `pixels` in each direction (reflected edges): features must not hinge on one
    exact pixel position."""

    def __init__(self, pixels):
        self.pixels = pixels

    def draw(self, rng):
        return rng.integers(0, 2 * self.pixels + 1, size=2).astype(np.int32)

    def __call__(self, image, offsets):
        pad = self.pixels
        padded = ops.pad(image, [(0, 0), (0, 0), (pad, pad), (pad, pad), (0, 0)], mode="reflect")
        return ops.slice(padded, (0, 0, offsets[0], offsets[1], 0), tuple(image.shape[:2]) + IMAGE_SHAPE)


class Scale:
    """Zoom about the centre by a factor drawn from [low, high] (bilinear, edges repeated): robust to size."""

    def __init__(self, low, high):
        self.low, self.high = low, high

    def draw(self, rng):
        return np.float32(rng.uniform(self.low, self.high))

    def __call__(self, image, factor):
        size = IMAGE_SHAPE[0]
        grid = np.arange(size, dtype=np.float32)
        centre = (size - 1) / 2.0
        source = ops.clip(centre + (grid - centre) / factor, 0.0, size - 1.0)
        weights = ops.relu(1.0 - ops.abs(source[:, None] - grid[None, :]))  # (out, in) bilinear weights
        rows = ops.einsum("yh,kbhwc->kbywc", weights, image)
        return ops.einsum("xw,kbywc->kbyxc", weights, rows)


class ActivationMaximization:
    """Adam ascent of an objective over a pack of images; `net` is a PackedNet, `image` a parameterization."""

    def __init__(self, net, image=None):
        self.net, self.image = net, image or PixelImage()

    def __call__(self, weights, objective, seed_input, regularizers=(), modifiers=(), steps=100, learning_rate=0.05,
                 seed=0, on_step=lambda: None):
        """Optimize from parameters `seed_input` (K, B, ...); return (images (K, B, 32, 32, 3), scores).

        `scores[s]` is the objective (K, B) of what the net saw before step s (modifiers applied), and
        `scores[steps]` that of the final, unmodified image.
        """
        optimizer = Adam(learning_rate)

        def loss(params, weights, draws):
            image = self.image(params[0])
            seen = image
            for modifier, draw in zip(modifiers, draws):
                seen = modifier(seen, draw)
            penalty = sum((regularizer(image) for regularizer in regularizers), 0.0)
            score = objective(self.net(weights, seen))
            return ops.sum(penalty - score), score

        gradient = autodiff.value_and_grad(loss)

        def step(params, state, weights, draws):
            (_, score), grads = gradient(params, weights, draws)
            params, state = optimizer.update(params, grads, state)
            return params, state, score

        def final(params, weights):
            image = self.image(params[0])
            return image, objective(self.net(weights, image))

        step, final = autodiff.compile(step), autodiff.compile(final)
        rng = np.random.default_rng(seed)
        weights = [ops.convert_to_tensor(w) for w in weights]
        params = [ops.convert_to_tensor(seed_input)]
        state = keras.tree.map_structure(ops.convert_to_tensor, optimizer.initial_state([seed_input]))
        scores = []
        for _ in range(steps):
            draws = [ops.convert_to_tensor(modifier.draw(rng)) for modifier in modifiers]
            params, state, score = step(params, state, weights, draws)
            scores.append(score)
            on_step()
        image, score = final(params, weights)
        return ops.convert_to_numpy(image), np.stack([ops.convert_to_numpy(s) for s in scores + [score]])
