"""The learned fallback: features, training, the shipped weights and how they are loaded."""

from pathlib import Path

import numpy as np
import pytest

from pathprover.classifier import features, training
from pathprover.classifier import model as learned

CORPUS = Path(__file__).resolve().parents[1] / "data" / "classifier_corpus.jsonl"


def test_features_are_stable_normalised_and_bounded():
    # Given a message, and the same message 10,000 lines long
    text = "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"
    indices, values = features.featurise(text)
    # Then the buckets are deterministic (CRC-32, not hash()), the vector is unit length
    assert np.array_equal(indices, features.featurise(text)[0])
    assert abs(float(np.linalg.norm(values)) - 1.0) < 1e-5
    assert indices.min() >= 0 and indices.max() < features.DIMENSIONS
    # And identifiers are split into their parts, long numbers folded, exit codes kept
    words = features.tokens("InsufficientInstanceCapacity exit code 137 at 1699999999")
    assert {"insufficientinstancecapacity", "insufficient", "capacity", "137", "0000"} <= set(words)
    long = "\n".join(["noise line"] * 10_000 + [text])
    assert len(features.window(long)) <= features.HEAD_CHARS + features.TAIL_CHARS + 1


def test_info_lines_are_left_out_when_there_is_an_error_line():
    text = "INFO 05-01 loading weights\nKeyError: 'prompt'\nDEBUG done"
    assert features.window(text) == "KeyError: 'prompt'"
    assert features.window("INFO only this") == "INFO only this"


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


def test_weights_for_other_features_are_refused(tmp_path):
    path = tmp_path / "w.npz"
    model = learned.shipped()
    learned.save(str(path), model.classes, model.weights, model.bias, dict(model.meta))
    assert learned.load_file(str(path)).classes == model.classes
    data = dict(np.load(path))
    data["meta"] = np.frombuffer(b'{"feature_version": 0, "dimensions": 8, "classes": []}', dtype=np.uint8)
    np.savez(path, **data)
    with pytest.raises(learned.ModelFileError, match="retrain"):
        learned.load_file(str(path))
