"""The `generate` stage: a RunConfig rendered into container files, buildspecs and deploy parameters.

See `docs/containers.md` for the template layout and the `SM_<ENGINE>_<KEY>` convention.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathprover.generate.bundle import Bundle, bundle_tarball, bundle_zip, write_bundle
    from pathprover.generate.engines import ENGINES, EngineSpec, engine_spec
    from pathprover.generate.render import RenderError, default_containers_dir, render_bundle, render_template

_HOME = {
    "Bundle": "bundle",
    "bundle_tarball": "bundle",
    "bundle_zip": "bundle",
    "write_bundle": "bundle",
    "ENGINES": "engines",
    "EngineSpec": "engines",
    "engine_spec": "engines",
    "RenderError": "render",
    "default_containers_dir": "render",
    "render_bundle": "render",
    "render_template": "render",
}

__all__ = [
    "ENGINES",
    "Bundle",
    "EngineSpec",
    "RenderError",
    "bundle_tarball",
    "bundle_zip",
    "default_containers_dir",
    "engine_spec",
    "render_bundle",
    "render_template",
    "write_bundle",
]


def __getattr__(name: str) -> Any:
    """The package's names, each imported on first use: `pathprover render` alone needs jinja2."""
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
