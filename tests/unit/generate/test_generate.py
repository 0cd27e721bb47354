"""`pathprover.generate`'s lazy re-exports: every public name resolves to where it is defined, an
unknown name is an AttributeError, and importing the package loads none of its modules."""

from __future__ import annotations

import subprocess
import sys

import pytest

import pathprover.generate as package


@pytest.mark.parametrize("name", sorted(package.__all__))
def test_every_public_name_resolves_to_its_home_module(name: str) -> None:
    # Given a name the package exports
    value = getattr(package, name)
    # Then it is the object of the module that defines it
    home = sys.modules[f"pathprover.generate.{package._HOME[name]}"]
    assert value is getattr(home, name)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        package.no_such_name  # noqa: B018  the access itself is what is tested


def test_importing_the_package_loads_none_of_its_modules() -> None:
    # Given a fresh interpreter
    code = (
        "import sys, pathprover.generate; print(sorted(m for m in sys.modules if m.startswith('pathprover.generate.')))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    # Then importing the package loaded no submodule (they load on first use)
    assert loaded.strip() == "[]"
