"""Input modifiers: (image, this step's random draw) -> the image the net sees. `draw(rng)` runs on the host per
step, so the compiled step stays pure and a seed reproduces a run."""

import numpy as np
from keras import ops


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
        return ops.slice(padded, (0, 0, offsets[0], offsets[1], 0), tuple(image.shape))


class Scale:
    """Zoom about the centre by a factor drawn from [low, high] (bilinear, edges repeated): robust to size."""

    def __init__(self, low, high):
        self.low, self.high = low, high

    def draw(self, rng):
        return np.float32(rng.uniform(self.low, self.high))

    def __call__(self, image, factor):
        rows = ops.einsum("yh,kbhwc->kbywc", self.interpolation(image.shape[2], factor), image)
        return ops.einsum("xw,kbywc->kbyxc", self.interpolation(image.shape[3], factor), rows)

    @staticmethod
    def interpolation(size, factor):
        """(out, in) bilinear weights of a zoom by `factor` about the centre of `size` pixels."""
        grid = np.arange(size, dtype=np.float32)
        centre = (size - 1) / 2.0
        source = ops.clip(centre + (grid - centre) / factor, 0.0, size - 1.0)
        return ops.relu(1.0 - ops.abs(source[:, None] - grid[None, :]))
