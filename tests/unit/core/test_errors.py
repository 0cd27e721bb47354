"""core/errors.py: every error a person can fix shares one base, so the CLI answers each the same way."""

from __future__ import annotations

import pytest

from pathprover.adapters.local.faults import FaultFileError
from pathprover.adapters.local.warehouse import WarehouseError
from pathprover.brain.gaps import SpaceError
from pathprover.brain.history import HistoryError
from pathprover.catalog import CatalogError
from pathprover.core.dimensions import DimensionValueError
from pathprover.core.errors import InputError
from pathprover.core.targets import TargetError
from pathprover.loadgen.transports import LoadgenError
from pathprover.workflow.planning import InvalidInput

PEOPLE_ERRORS = {
    CatalogError: "catalog",
    DimensionValueError: "invalid_value",
    FaultFileError: "invalid_faults",
    HistoryError: "table",
    InvalidInput: "invalid_input",
    LoadgenError: "endpoint",
    SpaceError: "invalid_input",
    TargetError: "invalid_targets",
    WarehouseError: "table",
}


@pytest.mark.parametrize(("error", "code"), PEOPLE_ERRORS.items(), ids=lambda v: getattr(v, "__name__", v))
def test_each_layers_error_is_an_input_error_with_its_code(error: type[Exception], code: str) -> None:
    # Given an error a layer raises for bad input
    raised = error("what was wrong")
    # Then it is an InputError (one clear message, exit 2) with its documented code (docs/cli-json.md)
    assert isinstance(raised, InputError)
    assert raised.code == code
    assert str(raised) == "what was wrong"


def test_the_value_errors_stay_value_errors() -> None:
    # Code that caught ValueError before the common base still catches them
    for error in (CatalogError, DimensionValueError, TargetError, InvalidInput, SpaceError, HistoryError):
        assert issubclass(error, ValueError)


def test_the_base_code_is_invalid_input() -> None:
    assert InputError("x").code == "invalid_input"
