"""classifier/model.py: saving and loading the learned fallback's weights."""

import numpy as np
import pytest

from pathprover.classifier import model as learned


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
