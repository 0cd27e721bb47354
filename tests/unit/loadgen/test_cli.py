"""loadgen/cli.py: importing the command and the package stays cheap (no heavy module at import)."""

from __future__ import annotations

import subprocess
import sys


def test_import_is_cheap_and_lazy() -> None:
    code = (
        "import sys, pathprover.loadgen, pathprover.loadgen.cli; "
        "print(sorted(m for m in ('aiohttp', 'h11', 'boto3', 'botocore', 'duckdb', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
