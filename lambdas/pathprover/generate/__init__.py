"""The `generate` stage: a RunConfig rendered into container files, buildspecs and deploy parameters.

See `docs/containers.md` for the template layout and the `SM_<ENGINE>_<KEY>` convention.
"""

from pathprover.generate.bundle import Bundle, bundle_tarball, bundle_zip, write_bundle
from pathprover.generate.engines import ENGINES, EngineSpec, engine_spec
from pathprover.generate.render import RenderError, default_containers_dir, render_bundle, render_template

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
