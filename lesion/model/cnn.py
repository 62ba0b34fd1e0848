"""The study's CNN (TensorFlow's CNN tutorial), its input scaling and its seeded initial weights.

Weights are kept as numpy arrays in Keras `get_weights()` order, stacked over models: WEIGHT_SPECS[i] holds the
shape of array i for one model. Every model's starting point comes from its own seed through numpy, so the
backend and the packing change speed, never the numbers a model starts from.
"""

import numpy as np

NUM_CLASSES = 10
IMAGE_SHAPE = (32, 32, 3)
# (name, kind, shape) per weight array, in Keras get_weights() order of build_cnn().
WEIGHT_SPECS = [
    ("conv1/kernel", "kernel", (3, 3, 3, 32)),
    ("conv1/bias", "bias", (32,)),
    ("conv2/kernel", "kernel", (3, 3, 32, 64)),
    ("conv2/bias", "bias", (64,)),
    ("conv3/kernel", "kernel", (3, 3, 64, 64)),
    ("conv3/bias", "bias", (64,)),
    ("dense/kernel", "kernel", (1024, 64)),
    ("dense/bias", "bias", (64,)),
    ("logits/kernel", "kernel", (64, NUM_CLASSES)),
    ("logits/bias", "bias", (NUM_CLASSES,)),
]


def to_unit_range(images):
    """uint8 pixels -> floats in [0, 1], the model's input (training, evaluation and visualization alike)."""
    from keras import ops

    return ops.cast(images, "float32") / 255.0


def build_cnn(dtype=None):
    """One plain Keras model of the study: input pixels in [0, 1], output 10 logits (122,570 parameters)."""
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(IMAGE_SHAPE),
            layers.Conv2D(32, 3, activation="relu", name="conv1", dtype=dtype),
            layers.MaxPooling2D(2, name="pool1", dtype=dtype),
            layers.Conv2D(64, 3, activation="relu", name="conv2", dtype=dtype),
            layers.MaxPooling2D(2, name="pool2", dtype=dtype),
            layers.Conv2D(64, 3, activation="relu", name="conv3", dtype=dtype),
            layers.Flatten(name="flatten", dtype=dtype),
            layers.Dense(64, activation="relu", name="dense", dtype=dtype),
            layers.Dense(NUM_CLASSES, name="logits", dtype=dtype),
        ],
        name="cnn",
    )


def initial_weights(seed):
    """Keras' defaults (Glorot-uniform kernels, zero biases), drawn by numpy from the model's own seed."""
    rng = np.random.default_rng(seed)
    weights = []
    for _, kind, shape in WEIGHT_SPECS:
        if kind == "bias":
            weights.append(np.zeros(shape, np.float32))
            continue
        receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
        fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        weights.append(rng.uniform(-limit, limit, size=shape).astype(np.float32))
    return weights


def initial_pack_weights(seeds):
    """The starting weights of several models, each array stacked over them (the packed layers' layout)."""
    return [np.stack(arrays) for arrays in zip(*(initial_weights(seed) for seed in seeds))]
