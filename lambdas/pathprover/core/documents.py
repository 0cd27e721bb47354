"""Reading a file a person wrote (targets, faults): JSON or YAML, strictly.

A binary file, a file that is not UTF-8, and a mapping with the same key twice are refused with
one line naming the file: YAML and JSON both keep the last of two equal keys silently, so
`tp_degree: 1` followed by `tp_degree: 8` would prove something nobody read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError


class DocumentError(ValueError):
    """The file cannot be read as the JSON or YAML document it should be."""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(
                None, None, f"the key {key!r} is given twice (line {mark.line + 1})", mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DocumentError(f"the key {key!r} is given twice")
        result[key] = value
    return result


def load_document(path: Path) -> Any:
    """The parsed content of a JSON (``.json``) or YAML file, refusing binary content and duplicate keys."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"cannot read {path}: {exc.strerror or exc}") from None
    if b"\x00" in raw:
        raise DocumentError(f"{path}: a binary file, not JSON or YAML text")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    is_json = path.suffix.lower() == ".json"
    try:
        if is_json:
            return json.loads(text, object_pairs_hook=_no_duplicates)
        return yaml.load(text, Loader=_StrictLoader)
    except DocumentError as exc:
        raise DocumentError(f"{path}: {exc}") from None
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        detail = " ".join(str(exc).split())
        raise DocumentError(f"{path}: not valid {'JSON' if is_json else 'YAML'}: {detail}") from None


def describe_validation_error(exc: ValidationError, where: str | None = None) -> str:
    """A pydantic error as one line a person can act on: ``<where>.<field>: <problem>; ...``.

    The one formatting of validation errors for every input (execution input, targets, CLI flags,
    render configs): the field's dotted path (``input`` when the whole value is wrong) and pydantic's
    message without its ``Value error, `` prefix.
    """
    problems = []
    for error in exc.errors():
        loc = ".".join(str(part) for part in error["loc"])
        field = f"{where}{'.' + loc if loc else ''}" if where else (loc or "input")
        problems.append(f"{field}: {str(error['msg']).removeprefix('Value error, ')}")
    return "; ".join(problems)
