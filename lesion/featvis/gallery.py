"""The visualize stage's gallery: what mistrained networks see, next to a clean one, as PNGs and an index page.

A clean model and the first model of a few swapped pairs are shown side by side, so a reader sees, say, what a net
that never learned "truck" thinks an automobile looks like. Every technique optimizes all its images (models on
the pack's copy axis, classes, channels, restarts and images on the batch axis) with one compiled step, and one
packed forward pass over the test set gives both the confusion grids and which channels never fire.
"""

import html
import json
import re

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from tqdm import tqdm

from lesion.featvis import images as parameterizations
from lesion.featvis.maximization import ActivationMaximization
from lesion.featvis.modifiers import Jitter, Scale
from lesion.featvis.net import PackedNet
from lesion.featvis.regularizers import LpNorm, TotalVariation
from lesion.featvis.scores import ActivationMatch, Channel, ScaledChannel
from lesion.model import autodiff
from lesion.model.cnn import to_unit_range

matplotlib.use("Agg")  # files only, never a window

INVERTED_LAYERS = 2  # the first layers, whose inversions still show the image (conv3 and above gave noise)
GRID_CLASSES = 20  # classes of the HappyMaps and confusion grids at most: the shown pairs' first, then in order
FONT = 8  # the smallest font of every figure, in points
GREY = 0.5
TEST_BATCH = 250  # test images per compiled forward call


def wrap(text, width=12):
    """Break a label into lines of about `width` characters, after spaces and slashes."""
    lines, line = [], ""
    for word in re.split(r"(?<=/)| ", text):
        joined = line + ("" if line.endswith("/") or not line else " ") + word
        if line and len(joined) > width:
            lines.append(line)
            joined = word
        line = joined
    return "\n".join(lines + [line])


def save_grid(path, images, title, row_labels, column_labels, dpi, cell_text=None, cell=0.9, cell_shade=None):
    """A rows x columns grid of RGB images (values in [0, 1]) drawn as one mosaic on one axes (a figure of 100
    axes took 3 s to draw), `cell` inches a cell, every label at least FONT points; `cell_text[r][c]` goes under
    cell (r, c), on a blue whose depth is `cell_shade[r, c]` (0 white to 1 dark) when given."""
    rows, columns, size = images.shape[0], images.shape[1], images.shape[2]
    gap = size // 8
    below = size // 2 if cell_text is not None else 0  # room for the text under each cell
    pitch_x, pitch_y = size + gap, size + gap + below
    sheet = np.ones((rows * pitch_y, columns * pitch_x - gap, 3), np.float32)
    for r in range(rows):
        for c in range(columns):
            sheet[r * pitch_y : r * pitch_y + size, c * pitch_x : c * pitch_x + size] = np.clip(images[r, c], 0, 1)
    label_lines = max(label.count("\n") + 1 for label in column_labels) if column_labels is not None else 0
    label_width = max(len(line) for label in row_labels for line in label.split("\n"))
    inch = cell / pitch_x  # inches per mosaic pixel
    left, top = 0.25 + 0.075 * label_width, 0.35 + 0.16 * label_lines
    width, height = sheet.shape[1] * inch, sheet.shape[0] * inch
    figure = plt.figure(figsize=(left + width + 0.15, top + height + 0.1))
    axis = figure.add_axes([left / figure.get_figwidth(), 0.1 / figure.get_figheight(),
                            width / figure.get_figwidth(), height / figure.get_figheight()])
    axis.imshow(sheet, interpolation="nearest", extent=(0, sheet.shape[1], sheet.shape[0], 0))
    axis.set_yticks([r * pitch_y + size / 2 for r in range(rows)], row_labels, fontsize=FONT)
    if column_labels is not None:
        axis.set_xticks([c * pitch_x + size / 2 for c in range(columns)], column_labels, fontsize=FONT)
    else:
        axis.set_xticks([])
    axis.tick_params(length=0, top=False, bottom=False, labeltop=True, labelbottom=False)
    for spine in axis.spines.values():
        spine.set_visible(False)
    if cell_text is not None:
        for r in range(rows):
            for c in range(columns):
                shade = None if cell_shade is None else float(cell_shade[r, c])
                box = None if shade is None else dict(facecolor=plt.cm.Blues(shade), edgecolor="none", pad=1.5)
                axis.text(c * pitch_x + size / 2, r * pitch_y + size + 1, cell_text[r][c], ha="center", va="top",
                          fontsize=FONT, bbox=box, color="white" if shade is not None and shade > 0.5 else "black")
    figure.suptitle(title, fontsize=FONT + 2, x=0.5, y=1 - 0.05 / figure.get_figheight(), va="top")
    save(figure, path, dpi)


def save(figure, path, dpi):
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=dpi, metadata={"Software": None})  # no version stamp: equal figures, equal bytes
    plt.close(figure)


def normalize(arrays, axes):
    """Stretch each array to [0, 1] over `axes` (per filter)."""
    low, high = arrays.min(axis=axes, keepdims=True), arrays.max(axis=axes, keepdims=True)
    return (arrays - low) / np.maximum(high - low, 1e-12)


def mosaic(tiles, columns, gap=1):
    """(n, h, w, 3) tiles -> one (rows*(h+gap)-gap, columns*(w+gap)-gap, 3) image on white, row-major."""
    n, h, w, _ = tiles.shape
    rows = -(-n // columns)
    sheet = np.ones((rows * (h + gap) - gap, columns * (w + gap) - gap, 3), np.float32)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        sheet[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = tile
    return sheet


def slug(label):
    return label.replace("/", "-").replace(" ", "_")


def grid_classes(names, pairs):
    """Indices of the classes the class grids show: every class of a small dataset; of a large one (CIFAR-100)
    the classes of visualize.pairs, then the others in the dataset's order, GRID_CLASSES in all."""
    if len(names) <= GRID_CLASSES:
        return list(range(len(names)))
    first = [names.index(str(name)) for pair in pairs for name in pair if str(name) in names]
    ordered = list(dict.fromkeys(first + list(range(len(names)))))
    return sorted(ordered[:GRID_CLASSES])


def shown_channels(size, setting):
    """The channels caricatured of a layer of `size` channels: the first `setting` of them, or all."""
    return np.arange(size if setting == "all" else min(size, setting))


class Visualizer:
    """The stage's techniques for one selection of models; each writes its PNGs under `folder` and returns its
    (file, heading, caption, model label or None when it shows every model) entries of the index."""

    def __init__(self, network, weights, labels, class_names, params, folder):
        self.weights, self.labels, self.names = weights, labels, list(class_names)
        self.params, self.folder, self.shape = params, folder, network.image_shape
        self.net = PackedNet(network)
        self.hidden = network.kernel_layers[:-1]  # every layer with weights but the logits: ReLU layers
        self.inverted = self.hidden[:INVERTED_LAYERS]
        self.channels = {name.split("/")[0]: shape[-1] for name, kind, shape in network.weight_specs if kind == "bias"}
        self.classes = grid_classes(self.names, params["pairs"])

    def optimize(self, name, weights, objective, seed_input, image, regularizers=(), modifiers=()):
        """One batched optimization of visualize.steps steps, with a progress bar."""
        steps = self.params["steps"]
        maximize = ActivationMaximization(self.net, image)
        with tqdm(total=steps, desc=name, unit="step", mininterval=2) as bar:
            return maximize(weights, objective, seed_input, regularizers, modifiers, steps,
                            self.params["learning_rate"], self.params["seed"], bar.update)

    def parameterization(self):
        if self.params["parameterization"] == "fourier":
            return parameterizations.FourierImage(self.shape, sd=FOURIER_START_SD, decay=FOURIER_DECAY)
        return parameterizations.PixelImage(self.shape)

    def maximize(self, name, weights, objective, batch, seed_offset=0):
        """Activation maximization of `batch` images per model from random starts, with the configured
        parameterization, penalties and robustness; returns the images."""
        p = self.params
        image = self.parameterization()
        seed_input = image.init(np.random.default_rng([p["seed"], seed_offset]), (len(weights[0]), batch))
        return self.optimize(name, weights, objective, seed_input, image,
                             [LpNorm(p["lp_weight"]), TotalVariation(p["tv_weight"])],
                             [Jitter(p["jitter"]), Scale(*p["scale"])])[0]

    def measure(self, x_test):
        """One packed forward pass over the test set: probabilities (K, N, C) and, per hidden layer, each
        channel's largest activation over every test image and position (`peaks`, K x channels: 0 for a channel
        that never fires) and its largest mean activation over an image's positions (`mean_peaks`)."""
        from keras import ops

        net, hidden = self.net, self.hidden

        def forward(weights, images):
            copies = len(weights[0])
            x = ops.broadcast_to(to_unit_range(images)[None], (copies,) + tuple(images.shape))
            activations = net(weights, x)
            flat = {name: ops.reshape(activations[name], (copies, images.shape[0], -1, activations[name].shape[-1]))
                    for name in hidden}
            return (ops.softmax(activations["logits"], axis=-1), [ops.max(flat[name], axis=(1, 2)) for name in hidden],
                    [ops.max(ops.mean(flat[name], axis=2), axis=1) for name in hidden])

        forward = autodiff.compile(forward)
        weights = [ops.convert_to_tensor(w) for w in self.weights]
        probabilities, peaks, mean_peaks = [], [], []
        for start in range(0, len(x_test), TEST_BATCH):
            batch = ops.convert_to_tensor(x_test[start : start + TEST_BATCH])
            probs, batch_peaks, batch_means = forward(weights, batch)
            probabilities.append(ops.convert_to_numpy(probs))
            peaks.append([ops.convert_to_numpy(peak) for peak in batch_peaks])
            mean_peaks.append([ops.convert_to_numpy(peak) for peak in batch_means])
        peaks, mean_peaks = ({name: np.max([batch[i] for batch in stat], axis=0) for i, name in enumerate(hidden)}
                             for stat in (peaks, mean_peaks))
        return np.concatenate(probabilities, axis=1), peaks, mean_peaks

    def happy_and_sad(self):
        """Images maximizing (HappyMaps) or minimizing (SadMaps) each class logit (of the grid's classes), restarts
        side by side."""
        p, copies = self.params, len(self.labels)
        restarts, n_classes = p["restarts"], len(self.classes)
        classes = np.tile(np.repeat(self.classes, restarts), 2)
        signs = np.repeat([1.0, -1.0], n_classes * restarts)
        objective = Channel(["logits"] * len(classes), classes, signs)
        images = self.maximize("happy/sad maps", self.weights, objective, len(classes))
        columns = [wrap(f"{label} #{r + 1}") for label in self.labels for r in range(restarts)]
        entries = []
        for sign, (name, verb) in enumerate([("happy", "raise"), ("sad", "lower")]):
            half = images[:, sign * n_classes * restarts : (sign + 1) * n_classes * restarts]
            grid = half.reshape((copies, n_classes, restarts) + half.shape[2:]).swapaxes(0, 1)
            path = f"{name}_maps.png"
            save_grid(self.folder / path, grid.reshape((n_classes, copies * restarts) + half.shape[2:]),
                      f"{name.capitalize()}Maps: images that {verb} each class logit",
                      [self.names[c] for c in self.classes], columns, p["dpi"])
            entries.append((path, f"{name.capitalize()}Maps", HAPPY_SAD_CAPTION[name].format(
                restarts=restarts, steps=p["steps"], parameterization=p["parameterization"]), None))
        return entries

    def caricature_images(self, weights, peaks, mean_peaks):
        """Per model given, the image maximizing the mean pre-activation of each shown live channel of every
        hidden layer, in units of the channel's largest mean activation on a test image (`mean_peaks`, so channels
        of every layer weigh alike against the penalties); channels whose `peaks` are 0 never fire:
        ({layer: channels shown}, {layer: dead (K, channels)}, images (K, items, H, W, C), items in layer, channel
        order). A dead channel's items are not optimized (grey)."""
        copies, hidden = len(weights[0]), self.hidden
        shown = {name: shown_channels(self.channels[name], self.params["channels"]) for name in hidden}
        dead = {name: peaks[name][:copies] <= 0 for name in hidden}
        layers = [f"{name}:pre" for name in hidden for _ in shown[name]]
        channels = np.concatenate([shown[name] for name in hidden])
        gains = np.concatenate([np.where(dead[name][:, shown[name]], 0.0, CARICATURE_GAIN / np.maximum(
            mean_peaks[name][:copies, shown[name]], 1e-12)) for name in hidden], axis=1)  # (K, items)
        images = self.maximize("caricatures", weights, ScaledChannel(layers, channels, gains), len(layers),
                               seed_offset=1)
        live = np.concatenate([~dead[name][:, shown[name]] for name in hidden], axis=1)
        return shown, dead, np.where(live[:, :, None, None, None], images, np.float32(GREY))

    def caricatures(self, peaks, mean_peaks):
        """The clean and the first swapped model's caricatures; channels that never fire on the test set (their
        largest activation over every test image and position is 0, measured) are grey cells marked dead."""
        p, featured = self.params, min(2, len(self.labels))
        shown, dead, images = self.caricature_images([w[:featured] for w in self.weights], peaks, mean_peaks)
        per_row = 16 if p["channels"] == "all" else max(len(c) for c in shown.values())
        entries = []
        for model, label in enumerate(self.labels[:featured]):
            cells, texts, rows, offset = [], [], [], 0
            for name in self.hidden:
                for start in range(0, len(shown[name]), per_row):
                    picks = shown[name][start : start + per_row]
                    row = np.full((per_row,) + images.shape[2:], 1.0, np.float32)
                    text = [""] * per_row
                    for j, channel in enumerate(picks):
                        row[j] = images[model, offset + start + j]
                        text[j] = f"{channel} dead" if dead[name][model, channel] else str(channel)
                    cells.append(row)
                    texts.append(text)
                    count = int(dead[name][model].sum())
                    rows.append(f"{name}\n({count} of {dead[name].shape[1]}\ndead)" if start == 0 else name)
                offset += len(shown[name])
            path = f"caricatures/{slug(label)}.png"
            save_grid(self.folder / path, np.stack(cells), f"Caricatures of {label}: the image that most excites "
                      "each channel", rows, None, p["dpi"], cell_text=texts)
            entries.append((path, f"Caricatures: {label}", CARICATURE_CAPTION.format(
                label=label, shown="every channel" if p["channels"] == "all" else f"the first {p['channels']} "
                "channels", first=self.hidden[0], last=self.hidden[-1], dead=", ".join(
                    f"{name} {int(dead[name][model].sum())} of {dead[name].shape[1]}" for name in self.hidden))
                + self.reading("caricatures"), label))
        return entries

    def reading(self, technique):
        """How to read a technique's pictures of the tutorial CNN (its layers named conv1 ...), or nothing for
        another network, whose pictures were not studied."""
        return CONV_READING[technique] if self.hidden[0] == "conv1" else ""

    def inversion(self, x_test, y_test):
        """Test images rebuilt from one layer's activations alone (pixels under a TV prior), per featured model."""
        from keras import ops

        p, featured = self.params, min(2, len(self.labels))
        weights, labels = [w[:featured] for w in self.weights], self.labels[:featured]
        picks = [int(np.flatnonzero(y_test == c)[0]) for c in np.unique(y_test)[: p["images"]]]
        originals = x_test[picks].astype(np.float32) / 255.0
        inverted = self.inverted
        items = np.repeat(originals, len(inverted), axis=0)[None].repeat(featured, axis=0)  # (K, images x layers)
        layers = list(inverted) * len(picks)
        targets = {name: ops.convert_to_numpy(a) for name, a in self.net(weights, items).items()}
        pixels = parameterizations.PixelImage(self.shape)
        rebuilt, _ = self.optimize(
            "inversion", weights, ActivationMatch(layers, targets),
            pixels.init(np.random.default_rng([p["seed"], 2]), items.shape[:2]) * INVERSION_START, pixels,
            [TotalVariation(INVERSION_TV)])
        rows = [f"{self.names[y_test[i]]}\n(test {i})" for i in picks]
        columns = ["original"] + [wrap(f"{label}: {layer}") for label in labels for layer in inverted]
        grid = rebuilt.reshape((featured, len(picks), len(inverted)) + rebuilt.shape[2:]).transpose(1, 0, 2, 3, 4, 5)
        grid = grid.reshape((len(picks), featured * len(inverted)) + rebuilt.shape[2:])
        save_grid(self.folder / "inversion.png", np.concatenate([originals[:, None], grid], axis=1),
                  "Inversion: each test image rebuilt from one layer's activations alone", rows, columns, p["dpi"])
        caption = INVERSION_CAPTION.format(steps=p["steps"], layers=" or ".join(inverted))
        caption += self.reading("inversion")
        return [("inversion.png", "Inversion", caption, None)]

    def filters(self):
        """Every model's first-layer filters, each stretched to its own range, as one mosaic of rows of 8 per
        model (grey for one-channel images)."""
        kernels = normalize(self.weights[0].transpose(0, 4, 1, 2, 3), axes=(2, 3, 4))  # (K, filters, 3, 3, C)
        sheets = np.stack([mosaic(k.repeat(4, axis=1).repeat(4, axis=2), 8) for k in kernels])
        figure, axes = plt.subplots(1, len(sheets), squeeze=False, layout="constrained",
                                    figsize=(0.5 + 2.6 * len(sheets), 1.9))
        for axis, sheet, label in zip(axes[0], sheets, self.labels):
            axis.imshow(sheet, interpolation="nearest")
            axis.set_xticks([])
            axis.set_yticks([])
            axis.set_title(label, fontsize=FONT)
        first = self.hidden[0]
        figure.suptitle(f"First-layer ({first}) filters as {'RGB' if self.shape[-1] == 3 else 'grey'} images",
                        fontsize=FONT + 2)
        save(figure, self.folder / f"filters/{first}.png", self.params["dpi"] * 1.5)
        return [(f"filters/{first}.png", "First-layer filters", FILTERS_CAPTION.format(
            count=kernels.shape[1], layer=first, rows=-(-kernels.shape[1] // 8)), None)]

    def confusions(self, probabilities, x_test, y_test):
        """Per model, its test confusion matrix (of the grid's classes) with the most confidently predicted image
        in every cell."""
        classes, entries = self.classes, []
        n, names = len(classes), [self.names[c] for c in classes]
        for model_index, label in enumerate(self.labels):
            predicted, confidence = probabilities[model_index].argmax(-1), probabilities[model_index].max(-1)
            grid, counts = np.ones((n, n) + x_test.shape[1:], np.float32), np.zeros((n, n))
            for row, true in enumerate(classes):
                for column, guess in enumerate(classes):
                    members = np.flatnonzero((y_test == true) & (predicted == guess))
                    counts[row, column] = len(members)
                    if len(members):
                        grid[row, column] = x_test[members[confidence[members].argmax()]] / 255.0
            path = f"confusion/{slug(label)}.png"
            save_grid(self.folder / path, grid, f"Confusion of {label}: rows true class, columns predicted",
                      [f"true\n{c}" for c in names], [wrap(f"predicted {c}", 10) for c in names],
                      self.params["dpi"], cell_text=[[f"n={int(k)}" for k in row] for row in counts],
                      cell_shade=counts / np.maximum(counts.sum(axis=1, keepdims=True), 1))
            entries.append((path, f"Confusion: {label}", CONFUSION_CAPTION.format(label=label) + (
                "" if n == len(self.names) else SUBSET_NOTE.format(shown=n, total=len(self.names))), label))
        return entries


# Fourier images: the spread of the random start (wide enough that restarts differ) and the spectrum's decay
# (steeper than Lucid's 1/f, a smoothness prior: HappyMaps came out as blobs instead of striped texture).
FOURIER_START_SD = 0.3
FOURIER_DECAY = 1.5
# A caricature's objective: its channel's mean pre-activation over the channel's largest test activation, times
# this gain, which puts it on the scale of a class logit, so the same penalties fit caricatures and HappyMaps.
CARICATURE_GAIN = 10.0
INVERSION_TV = 1.0  # the inversion's prior: at 0.3 conv2 inversions were coloured speckle, at 3 conv1 lost shape
INVERSION_START = 0.2  # inversions start near grey, so pixels the layer ignores stay smooth instead of noise

HAPPY_SAD_CAPTION = {
    "happy": "Each row is a class, each column a model and a random restart ({restarts} per model): an image that "
             "the model scores highly as that class, found by {steps} Adam steps in input space ({parameterization} "
             "parameterization, L6 and total-variation penalties, random jitter and zoom). Read colours and coarse "
             "layout (blue sky above an airplane, green below a frog), not texture; what the restarts share is what "
             "the model relies on. A model trained with a pair's labels half swapped cannot tell the two classes "
             "apart, so compare its maps of the two with the clean model's.",
    "sad": "As the HappyMaps, for the opposite objective: each image lowers the class logit as far as the penalties "
           "allow, i.e. shows what most speaks against that class for each model ({restarts} restarts, {steps} "
           "steps). Vehicle classes are typically countered by green, animal-like blobs and animals by blue skies.",
}
CARICATURE_CAPTION = (
    "Rows are layers ({first} to {last}), cells {shown} of the layer for {label}. Each cell is the image that most "
    "raises the channel's mean pre-activation (its input to the ReLU), optimized from a random start, so every "
    "channel that ever fires gets an image. Grey cells marked 'dead' are channels that never fire: their largest "
    "activation over every test image and position is 0, measured with the same packed forward pass (dead "
    "channels of the whole layer: {dead}).")
INVERSION_CAPTION = (
    "The first column is a test image; every other column is a picture rebuilt from a near-grey start by {steps} "
    "Adam steps until one layer's activations ({layers}, of the clean and the first swapped model) match the "
    "original's, under a total-variation prior. What survives is what the layer keeps.")
# What the tutorial CNN's pictures showed on CIFAR-10 (tutorial_cnn and wide_cnn, whose layers are conv1 ...).
CONV_READING = {
    "caricatures": " A conv1 channel averaged over the image is linear in it, so its cell is mostly the colour the "
                   "filter prefers; conv2 and conv3 cells show the textures and colour edges the channel looks for, "
                   "and dense cells whole-image layouts.",
    "inversion": " conv1 keeps the shapes and colours but not fine texture; conv2 keeps the outline and the main "
                 "colours, and its coloured speckle is detail that conv2 no longer pins down. Inversions from conv3 "
                 "and above are left out: they came out as noise.",
}
FILTERS_CAPTION = (
    "Each model's {count} {layer} kernels (3 x 3 pixels, enlarged) as a {rows} x 8 mosaic, row-major from channel 0, "
    "each "
    "stretched from its own minimum (black) to its maximum (white): a kernel's colours and their layout show which "
    "colour and which colour edge the channel responds to. Kernels of different models are not matched (channel "
    "i of one is unrelated to channel i of another).")
CONFUSION_CAPTION = (
    "Rows are true classes, columns predicted classes of {label} on the test set; each cell shows how many test "
    "images fall there (n, on a blue as deep as that count's share of its true class: white none, darkest all) "
    "and the one the model predicts with most confidence (white: none). A swapped pair shows up as deep blue in "
    "its two off-diagonal cells.")

SUBSET_NOTE = (" The grid shows {shown} of the {total} classes (the shown pairs' first): images predicted as a class "
               "outside it are in no cell.")

INTRO = ("What the networks see: a clean model beside models trained with a pair of classes' labels half swapped. "
         "Images are in reading order; every caption says what its figure shows and how to read it.")


def write_index(folder, entries):
    """plots/vis/index.html: every PNG (linked, not embedded) with its heading and caption, in reading order; and
    the same entries as index.json (path, heading, caption, model: the label of the model an image shows, null
    for an image of every model), which the report stage reads to embed them."""
    from lesion.report.html import page

    sections = [(heading, f'<figure><img src="{html.escape(path)}" alt="{html.escape(heading)}">'
                          f"<figcaption>{html.escape(caption)}</figcaption></figure>")
                for path, heading, caption, _ in entries]
    (folder / "index.html").write_text(page("What the networks see", INTRO, sections))
    fields = ("path", "heading", "caption", "model")
    (folder / "index.json").write_text(json.dumps([dict(zip(fields, entry)) for entry in entries], indent=1) + "\n")


def deterministic(seed):
    """Seed every generator and make the backend's kernels deterministic, so equal params give equal bytes."""
    import keras

    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    elif keras.backend.backend() == "torch":
        import torch

        torch.use_deterministic_algorithms(True)


def draw_gallery(network, weights, labels, data, params, folder):
    """Every technique for the selected models of `network` (`weights` stacked in `labels` order) into `folder`."""
    deterministic(params["seed"])
    visualizer = Visualizer(network, weights, labels, data["class_names"], params, folder)
    probabilities, peaks, mean_peaks = visualizer.measure(data["x_test"])
    entries = visualizer.happy_and_sad()
    entries += visualizer.caricatures(peaks, mean_peaks)
    entries += visualizer.inversion(data["x_test"], data["y_test"])
    entries += visualizer.filters()
    entries += visualizer.confusions(probabilities, data["x_test"], data["y_test"])
    write_index(folder, entries)
    return entries
