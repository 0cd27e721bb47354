"""Which adapters the handlers work with, chosen by configuration (AWS or local), built lazily.

The one factory that knows both sides: :class:`~pathprover.protocols.Services` (the dataclass of ports)
is a leaf beside the Protocols, the AWS factory builds one without importing this module, and
this module imports the AWS factory only when it is asked to build from settings.

Handlers call :func:`get_services`; on Lambda that builds the AWS adapters from
:class:`Settings` on first use. The local runtime installs its own set (DuckDB
warehouse, simulated builder and fleet, SQLite ledger, virtual clock) with
:func:`use_services`, so the same handlers run in both places.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: a handler's cold import does not load the catalog or the ports
    from pathprover.protocols import Services
    from pathprover.settings import Settings

_lock = threading.Lock()
_current: Services | None = None


def use_services(services: Services | None) -> None:
    """Install the adapters every handler in this process uses (None: back to building from settings)."""
    global _current
    with _lock:
        _current = services


def get_services() -> Services:
    global _current
    with _lock:
        if _current is None:
            from pathprover.settings import Settings

            _current = _build_from_settings(Settings.from_env())
        return _current


def _build_from_settings(settings: Settings) -> Services:
    if settings.runtime != "aws":
        raise RuntimeError(
            "no local services installed: the local runtime (`pathprover run` / `pathprover serve`) installs them; "
            "on Lambda set PATHPROVER_RUNTIME=aws"
        )
    from pathprover.adapters.aws.factory import build_aws_services
    from pathprover.catalog import load_catalog

    return build_aws_services(settings, load_catalog(settings.catalog_dir))
