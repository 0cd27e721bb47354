"""The one base of the errors a person can fix by changing what they gave.

Every layer raises its own subclass (a catalog, a table, a targets file, a value); the CLI shows any
of them as one clear message with exit code 2 (an error object under `--json`), never a traceback.
"""

from __future__ import annotations


class InputError(Exception):
    """A problem with what a person gave (a value, a file, a table), not a bug."""

    code = "invalid_input"
    """The error's `code` in the CLI's JSON error object (docs/cli-json.md)."""
