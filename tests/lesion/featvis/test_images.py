"""Image parameterizations: the Fourier image is exactly numpy's inverse real FFT."""

import keras
import numpy as np

from lesion.featvis.images import FourierImage


def test_fourier_image_is_numpys_inverse_fft():
    image = FourierImage((32, 32, 3))
    params = image.init(np.random.default_rng(0), (1, 1)) * 100
    spectrum = (params[0, 0, 0] + 1j * params[0, 0, 1]) * image.scale
    expected = np.fft.irfft2(spectrum, s=(32, 32), axes=(0, 1))
    real = keras.ops.convert_to_numpy(image.irfft2(params[:, :, 0] * image.scale, params[:, :, 1] * image.scale))
    np.testing.assert_allclose(real[0, 0], expected, atol=1e-4 * np.abs(expected).max())
