"""Image parameterizations: free parameters (numpy at the start, tensors while optimizing) -> images in [0, 1] of
the dataset's `shape` (height, width, channels)."""

import numpy as np
from keras import ops


class PixelImage:
    """One free parameter per pixel and channel, squashed by a sigmoid."""

    def __init__(self, shape, sd=0.5):
        self.shape, self.sd = tuple(shape), sd

    def init(self, rng, batch_shape):
        return rng.normal(0, self.sd, size=tuple(batch_shape) + self.shape).astype(np.float32)

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
    every backend differentiates. Grey images (one channel) have no colours to decorrelate.
    """

    def __init__(self, shape, sd=0.1, decay=1.0):
        height, width, channels = shape
        self.shape, self.sd, self.columns = tuple(shape), sd, width // 2 + 1
        self.colours = COLOR_SQRT if channels == 3 else np.eye(channels, dtype=np.float32)
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
        height, _, channels = self.shape
        return rng.normal(0, self.sd, size=tuple(batch_shape) + (2, height, self.columns, channels)).astype(np.float32)

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
        return ops.sigmoid(ops.einsum("kbyxc,dc->kbyxd", decorrelated, self.colours))
