"""What the classifier's tests share: the labelled corpus and the messages several files classify."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CORPUS_PATH = Path(__file__).resolve().parents[2] / "data" / "classifier_corpus.jsonl"
HF_TOKEN = "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYz0123"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

HEALTH_CHECK = (
    "Failed. Reason: The primary container for production variant AllTraffic did not pass the "
    "ping health check. Please check CloudWatch logs for this endpoint."
)


def load_corpus() -> list[dict[str, Any]]:
    with CORPUS_PATH.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
