"""The visualize stage's gallery: what mistrained networks see, next to a clean one, as PNGs.

A clean model and the first model of a few swapped pairs are shown side by side, so a reader sees, say, what a net
that never learned "truck" thinks an automobile looks like. Every technique optimizes all its images (models on
the pack's copy axis, classes, channels, restarts and images on the batch axis) with one compiled step.
"""

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from tqdm import tqdm

from lesion.evaluation import PackEvaluator
from lesion.featvis import images as parameterizations
from lesion.featvis.maximization import ActivationMaximization
from lesion.featvis.modifiers import Jitter, Scale
from lesion.featvis.net import PackedNet
from lesion.featvis.regularizers import LpNorm, TotalVariation
from lesion.featvis.scores import ActivationMatch, Channel, LayerPower

matplotlib.use("Agg")  # files only, never a window

HIDDEN = ("conv1", "conv2", "conv3", "dense")  # layers whose channels are caricatured, dreamed and inverted
INVERTED = HIDDEN + ("logits",)


def save_grid(path, images, title, row_labels, column_labels, dpi, cell_text=None):
    """A rows x columns grid of RGB images (values in [0, 1]); a column label's spaces become line breaks."""
    rows, columns = images.shape[:2]
    figure, axes = plt.subplots(rows, columns, figsize=(1.3 + 0.85 * columns, 1.1 + 0.85 * rows), squeeze=False,
                                layout="constrained")
    for r in range(rows):
        for c in range(columns):
            axis = axes[r, c]
            axis.imshow(np.clip(images[r, c], 0, 1), interpolation="nearest")
            axis.set_xticks([])
            axis.set_yticks([])
            if c == 0:
                axis.set_ylabel(row_labels[r], rotation=0, ha="right", va="center", fontsize=7)
            if r == 0:
                axis.set_title(column_labels[c].replace(" ", "\n"), fontsize=6)
            if cell_text is not None:
                axis.set_xlabel(cell_text[r][c], fontsize=6, labelpad=1)
    figure.suptitle(title, fontsize=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=dpi)
    plt.close(figure)


def normalize(arrays, axes):
    """Stretch each array to [0, 1] over `axes` (per filter, per template)."""
    low, high = arrays.min(axis=axes, keepdims=True), arrays.max(axis=axes, keepdims=True)
    return (arrays - low) / np.maximum(high - low, 1e-12)


def slug(label):
    return label.replace("/", "-").replace(" ", "_")


class Visualizer:
    """The stage's techniques for one selection of models; each writes its PNGs under `folder`."""

    def __init__(self, weights, labels, class_names, params, folder):
        self.weights, self.labels, self.names = weights, labels, list(class_names)
        self.params, self.folder = params, folder
        self.nets = {}

    def net(self, copies):
        if copies not in self.nets:
            self.nets[copies] = PackedNet(copies)
        return self.nets[copies]

    def optimize(self, name, weights, objective, seed_input, image, regularizers=(), modifiers=(), steps=None):
        """One batched optimization of visualize.steps (or `steps`) steps, with a progress bar."""
        steps = steps or self.params["steps"]
        maximize = ActivationMaximization(self.net(len(weights[0])), image)
        with tqdm(total=steps, desc=name, unit="step", mininterval=1) as bar:
            return maximize(weights, objective, seed_input, regularizers, modifiers, steps,
                            self.params["learning_rate"], self.params["seed"], bar.update)

    def maximize(self, name, weights, objective, batch):
        """Activation maximization of `batch` images per model from random starts, with the configured
        parameterization, penalties and robustness; returns the images."""
        p = self.params
        image = parameterizations.FourierImage() if p["parameterization"] == "fourier" else parameterizations.PixelImage()
        seed_input = image.init(np.random.default_rng(p["seed"]), (len(weights[0]), batch))
        return self.optimize(name, weights, objective, seed_input, image,
                             [LpNorm(p["lp_weight"]), TotalVariation(p["tv_weight"])],
                             [Jitter(p["jitter"]), Scale(*p["scale"])])[0]

    def happy_and_sad(self):
        """Images maximizing (HappyMaps) or minimizing (SadMaps) each class logit, restarts side by side."""
        p, copies = self.params, len(self.labels)
        restarts, n_classes = p["restarts"], len(self.names)
        classes = np.tile(np.repeat(np.arange(n_classes), restarts), 2)
        signs = np.repeat([1.0, -1.0], n_classes * restarts)
        objective = Channel(["logits"] * len(classes), classes, signs)
        images = self.maximize("happy/sad maps", self.weights, objective, len(classes))
        columns = [f"{label} #{r + 1}" for label in self.labels for r in range(restarts)]
        for sign, (name, verb) in enumerate([("happy", "maximize"), ("sad", "minimize")]):
            half = images[:, sign * n_classes * restarts : (sign + 1) * n_classes * restarts]
            grid = half.reshape((copies, n_classes, restarts) + half.shape[2:]).swapaxes(0, 1)
            save_grid(self.folder / f"{name}_maps.png", grid.reshape((n_classes, copies * restarts) + half.shape[2:]),
                      f"{name.capitalize()}Maps: images that {verb} each class logit ({p['parameterization']} "
                      f"parameterization), per model and random restart", self.names, columns, p["dpi"])

    def caricatures(self, weights, labels):
        """Every channel of every hidden layer maximized, for each model given: a grid of 16 per row."""
        p = self.params
        sizes = {name: weights[2 * i + 1].shape[-1] for i, name in enumerate(HIDDEN)}
        layers = [name for name in HIDDEN for _ in range(sizes[name])]
        channels = np.concatenate([np.arange(sizes[name]) for name in HIDDEN])
        images = self.maximize("caricatures", weights, Channel(layers, channels), len(layers))
        per_row = 16
        rows = [f"{layer} {c}-{c + per_row - 1}" for layer in HIDDEN for c in range(0, sizes[layer], per_row)]
        for model, label in enumerate(labels):
            grid = images[model].reshape((len(rows), per_row) + images.shape[2:])
            save_grid(self.folder / "caricatures" / f"{slug(label)}.png", grid,
                      f"Caricatures of {label}: the image maximizing each channel of each hidden layer "
                      "(grey: the channel stayed silent, a dead ReLU)",
                      rows, [str(c) for c in range(per_row)], p["dpi"])

    def deep_dream_and_inversion(self, weights, labels, x_test, y_test):
        """DeepDream (amplify each layer's response to a test image) and inversion (rebuild the image from one
        layer's activations alone) of the first test image of a few classes, per model and layer."""
        from keras import ops

        p, copies = self.params, len(labels)
        picks = [int(np.flatnonzero(y_test == c)[0]) for c in np.unique(y_test)[: p["images"]]]
        originals = x_test[picks].astype(np.float32) / 255.0
        items = np.repeat(originals, len(INVERTED), axis=0)[None].repeat(copies, axis=0)  # (K, images x layers)
        layers = list(INVERTED) * len(picks)
        pixels = parameterizations.PixelImage()
        dreams, _ = self.optimize("deep dream", weights, LayerPower(layers), pixels.from_images(items), pixels,
                                  modifiers=[Jitter(p["jitter"])], steps=p["dream_steps"])
        targets = {name: ops.convert_to_numpy(a) for name, a in self.net(copies)(weights, items).items()}
        inverted, _ = self.optimize(
            "inversion", weights, ActivationMatch(layers, targets),
            pixels.init(np.random.default_rng(p["seed"]), items.shape[:2]), pixels,
            [TotalVariation(p["tv_weight"])])
        rows = [f"{self.names[y_test[i]]}\n(test {i})" for i in picks]
        columns = ["original"] + [f"{label} {layer}" for label in labels for layer in INVERTED]
        for name, images, what in [
            ("deep_dream", dreams, "DeepDream: each test image changed to excite the layer more"),
            ("inversion", inverted, "Inversion: an image rebuilt from the layer's activations alone (TV prior)"),
        ]:
            grid = images.reshape((copies, len(picks), len(INVERTED)) + images.shape[2:]).transpose(1, 0, 2, 3, 4, 5)
            grid = grid.reshape((len(picks), copies * len(INVERTED)) + images.shape[2:])
            save_grid(self.folder / f"{name}.png", np.concatenate([originals[:, None], grid], axis=1),
                      what, rows, columns, p["dpi"])

    def templates(self, x_train, y_train):
        """First-layer filters of every model, and the class templates of a linear classifier on pixels."""
        import keras

        p = self.params
        filters = normalize(self.weights[0].transpose(0, 4, 1, 2, 3), axes=(2, 3, 4))  # (K, 32, 3, 3, 3)
        save_grid(self.folder / "filters" / "conv1.png", filters, "First-layer filters as RGB images "
                  "(each stretched to its own range)", self.labels, [str(f) for f in range(filters.shape[1])],
                  p["dpi"])
        keras.utils.set_random_seed(p["seed"])
        linear = keras.Sequential([keras.Input(x_train.shape[1:]), keras.layers.Flatten(), keras.layers.Dense(10)])
        linear.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        linear.fit(x_train.astype(np.float32) / 255.0, y_train, batch_size=256, epochs=p["linear_epochs"], verbose=0)
        kernel = linear.layers[-1].get_weights()[0].T.reshape((1, len(self.names)) + x_train.shape[1:])
        save_grid(self.folder / "filters" / "linear_classifier.png", normalize(kernel, axes=(2, 3, 4)),
                  "Class templates of a linear classifier on raw pixels (reference)", ["linear"], self.names,
                  p["dpi"])

    def confusions(self, x_test, y_test):
        """Per model, its test confusion matrix with the most confidently predicted image in every cell."""
        probs = PackEvaluator(len(self.labels)).predict(self.weights, x_test)  # the evaluate stage's forward pass
        n = len(self.names)
        for model_index, label in enumerate(self.labels):
            predicted, confidence = probs[model_index].argmax(-1), probs[model_index].max(-1)
            grid, counts = np.ones((n, n) + x_test.shape[1:], np.float32), [[""] * n for _ in range(n)]
            for true in range(n):
                for guess in range(n):
                    members = np.flatnonzero((y_test == true) & (predicted == guess))
                    counts[true][guess] = f"n={len(members)}"
                    if len(members):
                        grid[true, guess] = x_test[members[confidence[members].argmax()]] / 255.0
            save_grid(self.folder / "confusion" / f"{slug(label)}.png", grid,
                      f"Confusion of {label}: rows true class, columns predicted; each cell its most confident "
                      "test image", [f"true {c}" for c in self.names], [f"predicted {c}" for c in self.names],
                      self.params["dpi"], cell_text=counts)


def draw_gallery(weights, labels, data, params, folder):
    """Every technique for the selected models (`weights` stacked in `labels` order) into `folder`."""
    visualizer = Visualizer(weights, labels, data["class_names"], params, folder)
    featured = [w[:2] for w in weights], labels[:2]  # the clean model and the first swapped one
    visualizer.happy_and_sad()
    visualizer.caricatures(*featured)
    visualizer.deep_dream_and_inversion(*featured, data["x_test"], data["y_test"])
    visualizer.templates(data["x_train"], data["y_train"])
    visualizer.confusions(data["x_test"], data["y_test"])
