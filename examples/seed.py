"""The seed notebook's model as a model file: the same layers as ``--model seed``.

Train it with ``fmnist-tui train --model examples/seed.py --epochs 10`` (or type the path in
the Train dialog's Model field). ``build_model()`` returns a Keras model for 28x28x1 images
scaled to 0-1, with 10 class probabilities out; fmnist-tui puts the scaling in front, so the
saved model.keras takes raw images. 394,530 trainable parameters, as the preset.
"""

import keras
from keras import layers


def build_model() -> keras.Model:
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(28, 3, activation="relu", name="conv1"),
            layers.MaxPooling2D(2, name="pool1"),
            layers.Conv2D(56, 3, activation="relu", name="conv2"),
            layers.Flatten(name="flatten"),
            layers.Dense(56, activation="relu", name="dense"),
            layers.Dense(10, activation="softmax", name="output"),
        ],
        name="seed",
    )
