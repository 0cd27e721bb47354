"""classifier/features.py: the learned fallback's features are stable, normalised, bounded, and skip info lines."""

import numpy as np

from pathprover.classifier import features


def test_features_are_stable_normalised_and_bounded():
    # Given a message, and the same message 10,000 lines long
    text = "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"
    indices, values = features.featurise(text)
    # Then the buckets are deterministic (CRC-32, not hash()), and the vector is two unit vectors (the whole
    # window's and the key lines', weighted KEY_WEIGHT) added
    assert np.array_equal(indices, features.featurise(text)[0])
    norm = float(np.linalg.norm(values))
    assert 1.0 - 1e-5 <= norm <= 1.0 + features.KEY_WEIGHT + 1e-5
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


def test_the_error_line_counts_more_than_the_same_word_elsewhere() -> None:
    # Given a start-up banner line and an error line, each with one word of its own
    text = "Starting engine with banner\nRuntimeError: engine exploded"
    indices, values = features.featurise(text)
    weight = dict(zip(indices.tolist(), values.tolist(), strict=True))
    # Then the key lines are the lines that say something failed, and their words weigh more
    assert features.key_lines(text) == "RuntimeError: engine exploded"
    assert weight[features._bucket("k:w:exploded")] > 0
    assert features._bucket("k:w:banner") not in weight
