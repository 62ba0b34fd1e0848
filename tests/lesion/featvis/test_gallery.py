"""The gallery's measurements: a planted dead channel is measured dead and left grey, every live channel gets an
image, the packed net's pre-activations are the layers' inputs to their ReLU, and labels wrap readably."""

import keras
import numpy as np
import pytest

from lesion.featvis.gallery import GREY, Visualizer, grid_classes, shown_channels, wrap
from lesion.featvis.net import PackedNet
from lesion.model.networks import Network
from tests.fixtures.cifar import CLASS_NAMES

PARAMS = {"steps": 24, "learning_rate": 0.02, "restarts": 1, "channels": 6, "parameterization": "fourier",
          "lp_weight": 10, "tv_weight": 10, "jitter": 2, "scale": [0.95, 1.05], "images": 1, "dpi": 40, "seed": 0,
          "pairs": [["automobile", "truck"]]}
HIDDEN = ("conv1", "conv2", "conv3", "dense")
DEAD = 3  # the planted dead conv1 channel


@pytest.fixture(scope="module")
def planted(blob_study):
    """The blob study's two models with conv1 channel DEAD of the clean model zeroed and given a negative bias."""
    weights = [w.copy() for w in blob_study[1]]
    weights[0][0, ..., DEAD] = 0.0
    weights[1][0, DEAD] = -1.0
    return weights, blob_study[2]


def test_a_planted_dead_channel_is_measured_dead_and_live_channels_get_images(planted, tmp_path):
    weights, x_test = planted
    visualizer = Visualizer(Network(), weights, ["clean", "automobile/truck swapped"], CLASS_NAMES, PARAMS, tmp_path)
    assert visualizer.hidden == list(HIDDEN)
    probabilities, peaks, mean_peaks = visualizer.measure(x_test)
    assert probabilities.shape == (2, len(x_test), 10)
    np.testing.assert_allclose(probabilities.sum(-1), 1, atol=1e-5)
    assert peaks["conv1"][0, DEAD] == 0 and peaks["conv1"][1, DEAD] > 0  # measured, not assumed
    assert {name: peaks[name].shape for name in HIDDEN} == {"conv1": (2, 32), "conv2": (2, 64), "conv3": (2, 64),
                                                            "dense": (2, 64)}
    assert (mean_peaks["conv1"] <= peaks["conv1"] + 1e-6).all()

    shown, dead, images = visualizer.caricature_images(weights, peaks, mean_peaks)
    assert all(list(shown[name]) == list(range(6)) for name in HIDDEN)
    assert dead["conv1"][0, DEAD] and not dead["conv1"][1, DEAD]
    live = np.concatenate([~dead[name][:, :6] for name in HIDDEN], axis=1)  # (2 models, 24 items)
    assert live.sum() > 12
    departure = np.abs(images - GREY).mean(axis=(2, 3, 4))
    assert (departure[~live] == 0).all()  # dead channels: exactly grey
    assert (departure[live] > 0.03).all(), departure[live].min()  # every live channel: a visible image
    assert (images[live].std(axis=(1, 2)) > 0.01).all()  # ... with structure, not one flat colour

    entries = visualizer.caricatures(peaks, mean_peaks)
    assert [path for path, _, _, _ in entries] == ["caricatures/clean.png", "caricatures/automobile-truck_swapped.png"]
    assert [model for *_, model in entries] == ["clean", "automobile/truck swapped"]
    for model, (_, _, caption, _) in enumerate(entries):  # the caption counts what was measured
        assert f"conv1 {int((peaks['conv1'][model] <= 0).sum())} of 32" in caption and "never fire" in caption


def test_pre_activations_are_the_relu_inputs_and_the_net_is_the_packed_model(blob_study):
    weights, x_test = blob_study[1], blob_study[2]
    x = np.broadcast_to(x_test[:5] / np.float32(255), (2,) + x_test[:5].shape).copy()
    activations = {name: keras.ops.convert_to_numpy(a) for name, a in PackedNet(Network())(weights, x).items()}
    logits, _ = Network().packed(2).stateless_call([keras.ops.convert_to_tensor(w) for w in weights], [], x)
    np.testing.assert_allclose(activations["logits"], keras.ops.convert_to_numpy(logits), rtol=1e-4, atol=1e-4)
    for name in HIDDEN:
        np.testing.assert_allclose(np.maximum(activations[f"{name}:pre"], 0), activations[name], atol=1e-6)
        assert (activations[f"{name}:pre"] < 0).any()  # the ReLU does cut: a pre-activation is its own tensor


def test_shown_channels_and_labels():
    assert list(shown_channels(32, 8)) == list(range(8))
    assert list(shown_channels(32, "all")) == list(range(32))
    assert list(shown_channels(4, 8)) == list(range(4))
    assert wrap("automobile/truck swapped #1") == "automobile/\ntruck\nswapped #1"
    assert wrap("clean #2") == "clean #2"
    names = [f"c{i}" for i in range(100)]
    assert grid_classes(names[:20], [["c3", "c4"]]) == list(range(20))  # a small dataset: every class
    shown = grid_classes(names, [["c50", "c70"], [71, "c3"]])
    assert len(shown) == 20 and {50, 70, 3} <= set(shown) and shown == sorted(shown) and 71 not in shown


@pytest.mark.parametrize("network", [Network("top_down"), Network("tutorial_cnn", (28, 28, 1), 20)],
                         ids=["top_down", "grey-28px"])
def test_the_visualization_net_is_the_packed_model_of_every_network(network):
    """PackedNet walks any network's plain layers: its logits are the packed model's, every hidden layer has its
    pre-activation, and maps are whole (top_down's fine layer at the image's full size)."""
    weights = network.initial_pack_weights([1, 2])
    x = np.random.default_rng(0).random((2, 3) + network.image_shape).astype(np.float32)
    activations = {name: keras.ops.convert_to_numpy(a) for name, a in PackedNet(network)(weights, x).items()}
    logits, _ = network.packed(2).stateless_call([keras.ops.convert_to_tensor(w) for w in weights], [], x)
    np.testing.assert_allclose(activations["logits"], keras.ops.convert_to_numpy(logits), rtol=1e-4, atol=1e-4)
    for name in network.kernel_layers[:-1]:
        np.testing.assert_allclose(np.maximum(activations[f"{name}:pre"], 0), activations[name], atol=1e-6)
    first = network.kernel_layers[0]
    if network.model == "top_down":
        assert activations["fine"].shape == (2, 3, 32, 32, 16) and activations["coarse1"].shape[2:4] == (8, 8)
    else:
        assert activations[first].shape == (2, 3, 26, 26, 32)  # whole: no crop


def test_confusion_cells_are_shaded_by_their_share_of_the_true_class(monkeypatch, tmp_path):
    """Model 0 predicts every image's true class, model 1 calls class 0 class 1 half the time: the shades are the
    counts over their row's total, and the text says the counts."""
    import lesion.featvis.gallery as gallery

    drawn = {}
    monkeypatch.setattr(gallery, "save_grid", lambda path, *args, cell_text, cell_shade, **kw: drawn.update(
        {path.name: (cell_text, cell_shade)}))
    y_test = np.repeat(np.arange(10), 4)
    probabilities = np.eye(10, dtype=np.float32)[np.stack([y_test, np.where(np.arange(40) % 8 < 2, 1, y_test)])]
    x_test = np.zeros((40, 32, 32, 3), np.uint8)
    visualizer = Visualizer(Network(), None, ["clean", "automobile/truck swapped"], CLASS_NAMES, PARAMS, tmp_path)
    visualizer.confusions(probabilities, x_test, y_test)
    text, shade = drawn["clean.png"]
    np.testing.assert_array_equal(shade, np.eye(10))
    text, shade = drawn["automobile-truck_swapped.png"]
    assert text[0][:2] == ["n=2", "n=2"] and shade[0, 0] == shade[0, 1] == 0.5
    np.testing.assert_allclose(shade.sum(axis=1), 1)


def test_the_gallery_draws_grey_images_of_a_many_class_network(monkeypatch, tmp_path):
    """A 25-class network on 28 x 28 grey images: every technique runs, the class grids show the shown pair's
    classes among 20, the filters come out grey, and the confusion caption says classes were left out."""
    import lesion.featvis.gallery as gallery

    network = Network("tutorial_cnn", (28, 28, 1), 25)
    names = [f"class{i}" for i in range(25)]
    grids = {}
    draw = gallery.save_grid
    monkeypatch.setattr(gallery, "save_grid", lambda path, images, title, rows, *args, **kw: (
        grids.update({path.relative_to(tmp_path).as_posix(): (images.shape, list(rows))}),
        draw(path, images, title, rows, *args, **kw)))
    rng = np.random.default_rng(0)
    x_test, y_test = rng.integers(0, 256, (50, 28, 28, 1), dtype=np.uint8), np.repeat(np.arange(25), 2)
    params = dict(PARAMS, steps=2, channels=2, pairs=[["class22", "class24"]])
    entries = gallery.draw_gallery(network, network.initial_pack_weights([1, 2]), ["clean", "class22/class24 swapped"],
                                   {"x_test": x_test, "y_test": y_test, "class_names": names}, params, tmp_path)
    shape, rows = grids["happy_maps.png"]
    assert shape == (20, 2, 28, 28, 1) and "class22" in rows and "class24" in rows and "class23" not in rows
    assert grids["confusion/clean.png"][0] == (20, 20, 28, 28, 1)
    assert grids["inversion.png"][0][2:] == (28, 28, 1)
    captions = dict((path, caption) for path, _, caption, _ in entries)
    assert "shows 20 of the 25 classes" in captions["confusion/clean.png"]
    filters = plt_image(tmp_path / "filters/conv1.png")
    assert np.allclose(filters[..., 0], filters[..., 1]) and np.allclose(filters[..., 1], filters[..., 2])  # grey


def plt_image(path):
    from matplotlib.image import imread

    return imread(path)[..., :3]
