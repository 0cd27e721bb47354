"""Reading a file a person wrote: JSON or YAML, strictly; validation errors as one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError, field_validator

from pathprover.core.documents import DocumentError, describe_validation_error, load_document


@pytest.mark.parametrize(("name", "text"), [("t.yaml", "a: 1\nb: [x, y]\n"), ("t.json", '{"a": 1, "b": ["x", "y"]}')])
def test_json_and_yaml_read_the_same(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    assert load_document(path) == {"a": 1, "b": ["x", "y"]}


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("t.yaml", b"tp_degree: 1\ntp_degree: 8\n", r"given twice \(line 2\)"),
        ("t.yaml", b"outer:\n  k: 1\n  k: 2\n", "given twice"),
        ("t.json", b'{"tp_degree": 1, "tp_degree": 8}', "given twice"),
        ("t.yaml", b"a: \x00\x01", "binary file"),
        ("t.yaml", b"a: \xff\xfe", "not UTF-8"),
        ("t.json", b"{not json", "not valid JSON"),
        ("t.yaml", b"a: [1, 2", "not valid YAML"),
    ],
)
def test_what_cannot_be_read_as_written_is_refused_naming_the_file(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DocumentError, match=message) as caught:
        load_document(path)
    assert str(path) in str(caught.value)


def test_a_missing_file_is_a_document_error(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="cannot read"):
        load_document(tmp_path / "absent.yaml")


class _Target(BaseModel):
    tp_degree: int
    name: str

    @field_validator("name")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value:
            raise ValueError("a name is needed")
        return value


def test_a_validation_error_is_one_line_with_dotted_fields() -> None:
    with pytest.raises(ValidationError) as caught:
        _Target.model_validate({"tp_degree": "x", "name": ""})
    line = describe_validation_error(caught.value, "targets[0]")
    assert line.startswith("targets[0].tp_degree: ")
    assert "; targets[0].name: a name is needed" in line
    assert "\n" not in line
    assert describe_validation_error(caught.value).startswith("tp_degree: ")
