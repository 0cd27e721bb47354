"""classifier/features.py: the learned fallback's features are stable, normalised, bounded, and skip info lines."""

import numpy as np

from pathprover.classifier import features


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
