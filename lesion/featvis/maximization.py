"""Activation maximization: Adam in input space over a pack of images, for K models at once.

`ActivationMaximization(net, image)(weights, score, seed_input, regularizers, modifiers, steps)` runs Adam on an
image parameterization (lesion.featvis.images) so as to raise a score (lesion.featvis.scores) on what the packed
net computes, minus weighted regularizers, with input modifiers applied before the net sees the image. Every
tensor carries the pack's leading copy axis (K, B, ...), so one compiled step advances every image of a technique;
only lesion.model.autodiff touches a backend, so this runs on TensorFlow, JAX and torch alike.
"""

import keras
import numpy as np
from keras import ops

from lesion.model import autodiff
from lesion.model.adam import Adam


class ActivationMaximization:
    """Adam ascent of an objective over a pack of images; `net` is a PackedNet, `image` a parameterization."""

    def __init__(self, net, image):
        self.net, self.image = net, image

    def __call__(self, weights, objective, seed_input, regularizers=(), modifiers=(), steps=100, learning_rate=0.05,
                 seed=0, on_step=lambda: None):
        """Optimize from parameters `seed_input` (K, B, ...); return (images (K, B, H, W, C), scores).

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
