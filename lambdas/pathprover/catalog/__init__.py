"""The validated catalog: instance types, models, deployment configs and the search space.

Load it with :func:`default_catalog` (cached) or :func:`load_catalog` (a given directory).
"""

from pathprover.catalog.loader import CATALOG_DIR_ENV, default_catalog, default_catalog_dir, load_catalog
from pathprover.catalog.models import (
    Catalog,
    CatalogError,
    DeploymentConfig,
    InstanceType,
    ModelSpec,
    Pricing,
    QuantizationSpec,
    QuantizationSupport,
    SearchSpace,
    SizingConstants,
    TimingConstants,
)

__all__ = [
    "CATALOG_DIR_ENV",
    "Catalog",
    "CatalogError",
    "DeploymentConfig",
    "InstanceType",
    "ModelSpec",
    "Pricing",
    "QuantizationSpec",
    "QuantizationSupport",
    "SearchSpace",
    "SizingConstants",
    "TimingConstants",
    "default_catalog",
    "default_catalog_dir",
    "load_catalog",
]
