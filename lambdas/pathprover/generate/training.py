"""The tune stage's training job source: containers/training as a SageMaker script-mode source tarball.

The SageMaker Hugging Face training containers (sagemaker-training toolkit) run a user script when the job's
hyperparameters name it, as the SageMaker Python SDK's estimators do: ``sagemaker_program`` (the entry point
inside the source), ``sagemaker_submit_directory`` (an s3:// ``sourcedir.tar.gz``, extracted to
/opt/ml/code, where ``requirements.txt`` is installed first), ``sagemaker_region`` and
``sagemaker_container_log_level``. Every hyperparameter value is a JSON document (the SDK json-encodes
them; the toolkit decodes each one); the non-``sagemaker_`` ones become ``--name value`` arguments.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from pathprover.generate.bundle import Bundle, bundle_tarball

TRAINING_DIR: Final = "training"
PROGRAM: Final = "train.py"
SOURCE_FILES: Final = (PROGRAM, "requirements.txt", "data/train.jsonl", "data/README.md")
DATASET: Final = "data/train.jsonl"
SCRIPT_PARAM: Final = "sagemaker_program"
DIR_PARAM: Final = "sagemaker_submit_directory"
REGION_PARAM: Final = "sagemaker_region"
LOG_LEVEL_PARAM: Final = "sagemaker_container_log_level"
LOG_LEVEL_INFO: Final = 20
TRAINING_DEFAULTS: Final[dict[str, Any]] = {
    "learning_rate": 2e-4,
    "per_device_train_batch_size": 4,
    "max_seq_length": 512,
    "seed": 42,
}
"""What every tune sends besides the request's max_steps and lora_rank: a fixed seed and a fixed batch shape."""


def training_source(containers_dir: Path | None = None) -> Bundle:
    """containers/training's entry point, requirements and dataset (a missing file is an error, not a skip)."""
    from pathprover.generate.render import default_containers_dir

    root = (containers_dir or default_containers_dir()) / TRAINING_DIR
    files = {}
    for name in SOURCE_FILES:
        path = root / name
        if not path.is_file():
            raise FileNotFoundError(f"training source {path} is missing (containers/{TRAINING_DIR}/{name})")
        files[name] = path.read_bytes()
    return Bundle(files)


def source_tarball(bundle: Bundle) -> bytes:
    """``sourcedir.tar.gz`` as the SDK uploads it: the files at the archive's root."""
    return bundle_tarball(bundle)


def script_mode_hyperparameters(
    submit_directory: str, region: str, arguments: dict[str, Any], program: str = PROGRAM
) -> dict[str, str]:
    """The job's HyperParameters: the script-mode keys plus the script's arguments, each JSON-encoded."""
    values: dict[str, Any] = {
        **arguments,
        SCRIPT_PARAM: program,
        DIR_PARAM: submit_directory,
        REGION_PARAM: region,
        LOG_LEVEL_PARAM: LOG_LEVEL_INFO,
    }
    return {key: json.dumps(value) for key, value in values.items()}


def decode_hyperparameter(value: str) -> Any:
    """A hyperparameter as the toolkit reads it: JSON when it parses, else the text itself."""
    try:
        return json.loads(value)
    except ValueError:
        return value
