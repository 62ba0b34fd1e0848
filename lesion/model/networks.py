"""Which network a study trains, on which images: one value every stage and every pack shares.

A `Network` is train.model (and train.width for wide_cnn) together with the dataset's image shape and class count,
so nothing else assumes CIFAR-10's 32 x 32 x 3 images or its ten classes. It builds the plain Keras model, the
packed form that trains K copies per step (lesion.model.packed), and every model's seeded starting weights. Packs
store it (`to_dict`), so evaluation and visualization rebuild exactly the network that was trained.

Weights are numpy arrays in Keras `get_weights()` order, stacked over models: `weight_specs[i]` holds the name,
kind and shape of array i for one model. Every model's starting point comes from its own seed through numpy, so
the backend and the packing change speed, never the numbers a model starts from.
"""

import functools
from dataclasses import dataclass

import numpy as np

from lesion.model.cnn import build_cnn, build_top_down

MODELS = ("tutorial_cnn", "wide_cnn", "top_down")


@dataclass(frozen=True)
class Network:
    model: str = "tutorial_cnn"
    image_shape: tuple = (32, 32, 3)
    n_classes: int = 10
    width: float = 1  # wide_cnn's channel multiplier; 1 for the others

    def __post_init__(self):
        if self.model not in MODELS:
            raise ValueError(f"unknown model {self.model!r}: one of {', '.join(MODELS)}")
        object.__setattr__(self, "image_shape", tuple(int(side) for side in self.image_shape))
        object.__setattr__(self, "n_classes", int(self.n_classes))
        object.__setattr__(self, "width", self.width if self.model == "wide_cnn" else 1)

    def plain(self, dtype=None):
        """One plain Keras model: pixels in [0, 1] -> logits."""
        if self.model == "top_down":
            return build_top_down(self.image_shape, self.n_classes, dtype)
        return build_cnn(self.image_shape, self.n_classes, self.width, dtype)

    def packed(self, copies, dtype=None):
        """`copies` independent models as one Keras model on (K, B, H, W, C) images, weights as `weight_specs`
        with a leading K axis."""
        from lesion.model.packed import build_packed_cnn, packed_from_plain

        if self.model == "top_down":
            return packed_from_plain(self.plain(dtype), copies, dtype)
        return build_packed_cnn(copies, self.image_shape, self.n_classes, self.width, dtype)

    @property
    def weight_specs(self):
        """(name, kind, shape) per weight array of one model, in get_weights() order."""
        return weight_specs(self)

    @property
    def kernel_layers(self):
        """The names of the layers with weights, input to output (conv1 .. logits for the tutorial CNN)."""
        return [name.split("/")[0] for name, kind, _ in self.weight_specs if kind == "kernel"]

    @property
    def parameter_count(self):
        return sum(int(np.prod(shape)) for _, _, shape in self.weight_specs)

    def initial_weights(self, seed):
        """Keras' defaults (Glorot-uniform kernels, zero biases), drawn by numpy from the model's own seed."""
        rng = np.random.default_rng(seed)
        weights = []
        for _, kind, shape in self.weight_specs:
            if kind == "bias":
                weights.append(np.zeros(shape, np.float32))
                continue
            receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
            fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            weights.append(rng.uniform(-limit, limit, size=shape).astype(np.float32))
        return weights

    def initial_pack_weights(self, seeds):
        """The starting weights of several models, each array stacked over them (the packed layers' layout)."""
        return [np.stack(arrays) for arrays in zip(*(self.initial_weights(seed) for seed in seeds))]

    def to_dict(self):
        return {"model": self.model, "image_shape": list(self.image_shape), "n_classes": self.n_classes,
                "width": self.width}

    @classmethod
    def from_dict(cls, settings):
        return cls(settings["model"], tuple(settings["image_shape"]), settings["n_classes"], settings["width"])

    def describe(self):
        """'tutorial_cnn on 32x32x3 images, 10 classes (122,570 parameters)', for progress lines."""
        width = f" (width {self.width:g})" if self.model == "wide_cnn" else ""
        return (f"{self.model}{width} on {'x'.join(map(str, self.image_shape))} images, {self.n_classes} classes "
                f"({self.parameter_count:,} parameters)")


@functools.cache
def weight_specs(network):
    """`network.weight_specs`, read off its plain Keras model once per distinct network: every pack rebuilds its
    Network from the record it holds (lesion.decoding.features reads thousands), and building a Keras model each
    time would cost more than the features."""
    return tuple((f"{layer.name}/{weight.name}", weight.name, tuple(weight.shape))
                 for layer in network.plain().layers for weight in layer.weights)


def network_for(train, image_shape, n_classes):
    """The network the train params ask for on a dataset's images (train.model, train.width)."""
    return Network(train["model"], tuple(image_shape), n_classes, train["width"])
