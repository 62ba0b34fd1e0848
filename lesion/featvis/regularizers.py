"""Regularizers: image (K, B, H, W, 3) -> penalty (K, B), added to the loss with its weight."""

from keras import ops


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
