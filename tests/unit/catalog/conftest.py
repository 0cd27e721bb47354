"""What the catalog's tests share: the repository's catalog, loaded once, and a writable copy of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pathprover.catalog import Catalog, load_catalog

REPO_CATALOG = Path(__file__).resolve().parents[3] / "catalog"
REQUIRED_CONFIGS = ("transformers-vllm", "transformers-sglang", "tensorrt-llm", "http-flask")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(REPO_CATALOG)


@pytest.fixture
def catalog_copy(tmp_path: Path) -> Path:
    target = tmp_path / "catalog"
    shutil.copytree(REPO_CATALOG, target)
    return target
