"""classifier/training.py: deterministic training, and the shipped weights match the corpus's train split."""

import numpy as np
import pytest

from pathprover.classifier import features, training
from pathprover.classifier import model as learned
from tests.unit.classifier.conftest import CORPUS_PATH as CORPUS


def test_training_is_deterministic_and_learns_a_toy_corpus():
    # Given a tiny corpus with one clear word per category
    texts = [f"{word} happened at step {i}" for word in ("stockout", "deadline", "oomkill") for i in range(5)]
    labels = [label for label in ("capacity", "timeout", "oom") for _ in range(5)]
    # When it is trained twice
    first = training.train(texts, labels, training.Hyper(epochs=60))
    second = training.train(texts, labels, training.Hyper(epochs=60))
    # Then the weights are identical, and the model separates the three
    assert np.array_equal(first.weights, second.weights)
    assert [first.predict(f"a {w} again")[0] for w in ("stockout", "deadline", "oomkill")] == [
        "capacity",
        "timeout",
        "oom",
    ]


def test_training_refuses_unknown_labels():
    with pytest.raises(ValueError, match="unknown labels"):
        training.train(["x"], ["weather"])


def test_the_shipped_weights_were_trained_on_the_current_train_split():
    # Given the corpus and the shipped weights
    items = [i for i in training.load_corpus(CORPUS) if i.split == "train"]
    shipped = learned.shipped()
    # Then the weights record the train split they were fitted on (retrain after changing it) and
    # never saw a blind item
    assert shipped.meta["corpus_hash"] == training.corpus_hash(items), "run scripts/train_classifier.py train"
    assert shipped.meta["items"] == len(items)
    assert shipped.classes == training.CLASSES
    assert shipped.meta["feature_version"] == features.FEATURE_VERSION
