"""The plain Keras networks of the study, one model each, and the input scaling every pass shares.

`build_cnn` is TensorFlow's CNN tutorial (the paper's network, train.model tutorial_cnn) and, with a width
multiplier, wide_cnn; `build_top_down` a small multi-resolution network (train.model top_down). The packed forms
that train K copies at once are in lesion.model.packed; lesion.model.networks ties each to its dataset.
"""

# Channels of the tutorial CNN's conv1, conv2, conv3 and dense layers, before train.width multiplies them.
CNN_CHANNELS = (32, 64, 64, 64)


def to_unit_range(images):
    """uint8 pixels -> floats in [0, 1], the model's input (training, evaluation and visualization alike)."""
    from keras import ops

    return ops.cast(images, "float32") / 255.0


def widened(width):
    """The tutorial CNN's channel counts times `width`, rounded, at least one each."""
    return tuple(max(1, round(channels * width)) for channels in CNN_CHANNELS)


def build_cnn(image_shape, n_classes, width=1, dtype=None):
    """The tutorial CNN: input pixels in [0, 1], output `n_classes` logits (122,570 parameters on CIFAR-10)."""
    import keras
    from keras import layers

    conv1, conv2, conv3, dense = widened(width)
    return keras.Sequential(
        [
            keras.Input(image_shape),
            layers.Conv2D(conv1, 3, activation="relu", name="conv1", dtype=dtype),
            layers.MaxPooling2D(2, name="pool1", dtype=dtype),
            layers.Conv2D(conv2, 3, activation="relu", name="conv2", dtype=dtype),
            layers.MaxPooling2D(2, name="pool2", dtype=dtype),
            layers.Conv2D(conv3, 3, activation="relu", name="conv3", dtype=dtype),
            layers.Flatten(name="flatten", dtype=dtype),
            layers.Dense(dense, activation="relu", name="dense", dtype=dtype),
            layers.Dense(n_classes, name="logits", dtype=dtype),
        ],
        name="cnn",
    )


def build_top_down(image_shape, n_classes, dtype=None):
    """A coarse-to-fine network (117,386 parameters on CIFAR-10, the tutorial CNN's 122,570 for comparison).

    The first layers see the image downscaled 4x (8 x 8 for CIFAR), where a 3x3 kernel covers a third of it: the
    gist first, with most of the channels. Each later layer upsamples what came before and adds the image at the
    next resolution (2x down, then full), so fine detail refines a coarse reading instead of building it; those
    layers are narrow (16 channels), which keeps a step about 1.7 times the tutorial CNN's multiply-adds (7.8 M
    against 4.5 M per image) where 64 full-resolution channels would cost eight times. A 4x4 average pool and two
    dense layers read the result out. Image sides must be multiples of 4.
    """
    import keras
    from keras import layers

    def conv(filters, name, x):
        return layers.Conv2D(filters, 3, padding="same", activation="relu", name=name, dtype=dtype)(x)

    image = keras.Input(image_shape)
    x = layers.AveragePooling2D(4, name="coarse_view", dtype=dtype)(image)
    x = conv(64, "coarse2", conv(64, "coarse1", x))
    x = layers.UpSampling2D(2, name="up1", dtype=dtype)(x)
    x = layers.Concatenate(name="add_middle", dtype=dtype)([x, layers.AveragePooling2D(2, name="middle_view",
                                                                                      dtype=dtype)(image)])
    x = layers.UpSampling2D(2, name="up2", dtype=dtype)(conv(16, "middle", x))
    x = conv(16, "fine", layers.Concatenate(name="add_fine", dtype=dtype)([x, image]))
    x = layers.Flatten(name="flatten", dtype=dtype)(layers.AveragePooling2D(4, name="pool", dtype=dtype)(x))
    x = layers.Dense(64, activation="relu", name="dense", dtype=dtype)(x)
    return keras.Model(image, layers.Dense(n_classes, name="logits", dtype=dtype)(x), name="top_down")
