"""The seed author's own experiment, "playing around with the layers": two more convolutions
and one more max-pool than the seed (the ``seed-deep`` preset), as a file to edit.

Try it at 5 and 20 epochs, as the author did:
``fmnist-tui train --model examples/seed_deep.py --epochs 5``. Add, remove or widen layers
here and train again; each run keeps a copy of this file, so it resumes as it was trained.
"""

import keras
from keras import layers


def build_model() -> keras.Model:
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(28, 3, activation="relu", name="conv1"),
            layers.Conv2D(28, 3, activation="relu", name="conv2"),
            layers.MaxPooling2D(2, name="pool1"),
            layers.Conv2D(56, 3, activation="relu", name="conv3"),
            layers.Conv2D(56, 3, activation="relu", name="conv4"),
            layers.MaxPooling2D(2, name="pool2"),
            layers.Flatten(name="flatten"),
            layers.Dense(56, activation="relu", name="dense"),
            layers.Dense(10, activation="softmax", name="output"),
        ],
        name="seed_deep",
    )
