"""Stage `visualize`: the techniques move images the right way on a tiny trained set; the stage writes its PNGs."""

import os

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from stages.common import save_npz
from tests.cifar_fixture import CLASS_NAMES
from tests.conftest import run_module, write_params

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
keras = pytest.importorskip("keras")

from stages import featvis  # noqa: E402
from stages.cnn import build_cnn, initial_weights  # noqa: E402

SWAPPED = ("automobile", "truck")
FAST = {"steps": 24, "restarts": 2, "images": 2, "linear_epochs": 1, "dpi": 40}
EXPECTED = ["caricatures/automobile-truck_swapped.png", "caricatures/clean.png",
            "confusion/automobile-truck_swapped.png", "confusion/clean.png", "deep_dream.png", "filters/conv1.png", "filters/linear_classifier.png",
            "happy_maps.png", "inversion.png", "sad_maps.png"]


def blobs(per_class, seed):
    """Separable images: each class a coloured blob at its own place on a dim noise background."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.repeat(np.arange(10), per_class)).astype(np.uint8)
    rows, columns = np.mgrid[0:32, 0:32]
    colours = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1], [1, .5, 0], [.5, 0, 1],
                        [0, .5, .5], [.5, .5, .5]])
    images = rng.uniform(0, 0.3, size=(len(labels), 32, 32, 3))
    for i, label in enumerate(labels):
        row, column = 8 + 8 * (label % 3) + rng.integers(-2, 3), 8 + 8 * (label // 3 % 3) + rng.integers(-2, 3)
        images[i] += 0.7 * np.exp(-((rows - row) ** 2 + (columns - column) ** 2) / 18.0)[..., None] * colours[label]
    return (np.clip(images, 0, 1) * 255).astype(np.uint8), labels


def train(x, y, seed):
    keras.utils.set_random_seed(seed)
    model = build_cnn()
    model.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x / np.float32(255), y, epochs=4, batch_size=32, verbose=0)
    return model.get_weights()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A project with a clean model and an automobile/truck-swapped one (half of each class relabeled)."""
    project = tmp_path_factory.mktemp("visualize")
    x_train, y_train = blobs(60, 0)
    x_test, y_test = blobs(10, 1)
    swapped = y_train.copy()
    a, b = (CLASS_NAMES.index(name) for name in SWAPPED)
    for source, target in ((a, b), (b, a)):
        members = np.flatnonzero(y_train == source)
        swapped[members[: len(members) // 2]] = target
    models = [train(x_train, y_train, 0), train(x_train, swapped, 1)]
    weights = [np.stack(w) for w in zip(*models)]
    save_npz(project / "data/models/pack_00000.npz", model_ids=np.arange(2), fingerprint="test",
             **{f"w{i}": w for i, w in enumerate(weights)})
    save_npz(project / "data/cifar10.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
             class_names=np.array(CLASS_NAMES))
    (project / "data/labels").mkdir(parents=True)
    pd.DataFrame({"model_id": [0, 1], "kind": ["clean", "swap"], "class_a": ["", SWAPPED[0]],
                  "class_b": ["", SWAPPED[1]], "trial": [0, 0], "seed": [10, 11]}).to_csv(
        project / "data/labels/manifest.csv", index=False)
    return project, weights, x_test, y_test


def logits_of(net, weights, images):
    return keras.ops.convert_to_numpy(net(weights, images)["logits"])


TARGET = 3


def happy(weights, image, regularizers, steps=40):
    """Maximize class `target` of model 0 from 2 random starts; returns (start logits, final images, net)."""
    net = featvis.PackedNet(1)
    weights = [w[:1] for w in weights]
    start = image.init(np.random.default_rng(0), (1, 2))
    objective = featvis.Channel(["logits"] * 2, [TARGET] * 2)
    images, _ = featvis.ActivationMaximization(net, image)(weights, objective, start, regularizers,
                                                           [featvis.Jitter(1)], steps=steps, learning_rate=0.05)
    return logits_of(net, weights, image(start)), images, net, weights


@pytest.mark.parametrize("image", [featvis.PixelImage(), featvis.FourierImage()], ids=["pixel", "fourier"])
def test_activation_maximization_raises_the_target_logit(trained, image):
    before, images, net, weights = happy(trained[1], image, [featvis.LpNorm(0.1), featvis.TotalVariation(0.1)])
    after = logits_of(net, weights, images)[0]
    assert (after[:, TARGET] > before[0, :, TARGET] + 10).all()
    assert (after[:, TARGET] > np.delete(after, TARGET, axis=1).max(axis=1) + 5).all()


def test_total_variation_penalty_smooths():
    net = featvis.PackedNet(1)
    weights = [w[None] for w in initial_weights(0)]  # untrained: smoothing must not depend on what was learned
    image = featvis.PixelImage()
    start = image.init(np.random.default_rng(0), (1, 2))
    objective = featvis.Channel(["conv2"] * 2, [0, 1])
    runs = [featvis.ActivationMaximization(net, image)(weights, objective, start, [featvis.TotalVariation(w)],
                                                       steps=30)[0] for w in (0.0, 2.0)]
    plain, smooth = (keras.ops.convert_to_numpy(featvis.total_variation(images)) for images in runs)
    assert (smooth < 0.5 * plain).all()


def test_inversion_error_falls(trained):
    _, weights, x_test, _ = trained
    net = featvis.PackedNet(2)
    items = np.repeat(x_test[:1] / np.float32(255), 2, axis=0)[None].repeat(2, axis=0)  # 2 models x 2 layers
    layers = ["conv2", "dense"]
    targets = {name: keras.ops.convert_to_numpy(a) for name, a in net(weights, items).items()}
    image = featvis.PixelImage()
    _, scores = featvis.ActivationMaximization(net, image)(
        weights, featvis.ActivationMatch(layers, targets), image.init(np.random.default_rng(0), (2, 2)),
        [featvis.TotalVariation(0.01)], steps=60)
    error = -scores
    assert (error[-1] < 0.3 * error[0]).all() and (error[-1] < 0.2).all()


def test_fourier_image_is_numpys_inverse_fft():
    image = featvis.FourierImage()
    params = image.init(np.random.default_rng(0), (1, 1)) * 100
    spectrum = (params[0, 0, 0] + 1j * params[0, 0, 1]) * image.scale
    expected = np.fft.irfft2(spectrum, s=(32, 32), axes=(0, 1))
    real = keras.ops.convert_to_numpy(image.irfft2(params[:, :, 0] * image.scale, params[:, :, 1] * image.scale))
    np.testing.assert_allclose(real[0, 0], expected, atol=1e-4 * np.abs(expected).max())


def test_stage_writes_every_image(trained):
    project = trained[0]
    write_params(project, visualize=dict(FAST, pairs=[list(SWAPPED), ["cat", "dog"]]))
    result = run_module(project, "visualize", check=True)
    assert "no cat/dog model of trial 0" in result.stdout
    vis = project / "plots/vis"
    names = sorted(str(path.relative_to(vis)) for path in vis.rglob("*.png"))
    assert names == EXPECTED
    for name in names:
        pixels = imread(vis / name)
        assert pixels.ndim == 3 and pixels.shape[2] in (3, 4) and min(pixels.shape[:2]) > 60, name
        assert pixels[..., :3].std() > 0.02, name
    assert not [p for p in (project / "plots").iterdir() if p.name.startswith(".")]


def test_no_model_available_is_one_error_line(trained):
    project = trained[0]
    write_params(project, visualize=dict(FAST, trial=5))
    result = run_module(project, "visualize")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "error: none of the models visualize.pairs and visualize.trial ask for is in data/labels/manifest.csv")
    assert not (project / "plots/vis").exists()
