"""Read the four catalog YAML files, validate them together, and build a :class:`Catalog`.

Every problem becomes a :class:`CatalogError` naming the file and the key path,
so a typo in the catalog fails loudly at load time instead of deep in the brain.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, TypeVar, get_args

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node

from pathprover.catalog.models import (
    Catalog,
    CatalogError,
    DeploymentConfig,
    InstanceType,
    LocatedValueError,
    ModelSpec,
    NativeDtype,
    Pricing,
    QuantizationSpec,
    SearchSpace,
    _Frozen,
)

CATALOG_DIR_ENV: Final = "PATHPROVER_CATALOG_DIR"
INSTANCES_FILE: Final = "instances.yaml"
MODELS_FILE: Final = "models.yaml"
DEPLOYMENT_CONFIGS_FILE: Final = "deployment_configs.yaml"
SEARCH_SPACE_FILE: Final = "search_space.yaml"

_NATIVE_DTYPES: Final[tuple[str, ...]] = get_args(NativeDtype)

_M = TypeVar("_M", bound=BaseModel)


# --- file layouts ------------------------------------------------------------------------


class _InstancesFile(_Frozen):
    pricing: Pricing
    instances: list[InstanceType] = Field(min_length=1)


class _ModelsFile(_Frozen):
    dtype_bytes_per_param: dict[NativeDtype, float]
    models: list[ModelSpec] = Field(min_length=1)

    @field_validator("dtype_bytes_per_param")
    @classmethod
    def _all_dtypes(cls, value: dict[str, float]) -> dict[str, float]:
        for dtype in _NATIVE_DTYPES:
            if dtype not in value:
                raise LocatedValueError((dtype,), "missing: every native dtype needs a size")
        for dtype, size in value.items():
            if not 0 < size <= 4:
                raise LocatedValueError((dtype,), f"{size} bytes per parameter is not between 0 and 4")
        return value


class _DeploymentConfigsFile(_Frozen):
    quantizations: list[QuantizationSpec] = Field(min_length=1)
    deployment_configs: list[DeploymentConfig] = Field(min_length=1)


# --- directory resolution ----------------------------------------------------------------


def default_catalog_dir() -> Path:
    """`$PATHPROVER_CATALOG_DIR`, else the copy packaged in the wheel, else the repo's `catalog/`."""
    override = os.environ.get(CATALOG_DIR_ENV)
    if override:
        return Path(override).expanduser()
    here = Path(__file__).resolve()
    packaged = here.parents[1] / "_catalog"  # pathprover/_catalog in a wheel install
    if packaged.is_dir():
        return packaged
    return here.parents[3] / "catalog"  # <repo>/lambdas/pathprover/catalog/loader.py -> <repo>/catalog


def load_catalog(directory: Path | str | None = None) -> Catalog:
    """Load and validate the catalog in `directory` (None: :func:`default_catalog_dir`)."""
    root = Path(directory) if directory is not None else default_catalog_dir()
    if not root.is_dir():
        where = f" (from ${CATALOG_DIR_ENV})" if directory is None and os.environ.get(CATALOG_DIR_ENV) else ""
        raise CatalogError(f"catalog directory {root}{where} does not exist")

    instances_raw, instances_path = _read(root / INSTANCES_FILE)
    models_raw, models_path = _read(root / MODELS_FILE)
    configs_raw, configs_path = _read(root / DEPLOYMENT_CONFIGS_FILE)
    space_raw, space_path = _read(root / SEARCH_SPACE_FILE)

    instances_file = _validate(_InstancesFile, instances_raw, instances_path)
    models_file = _validate(_ModelsFile, models_raw, models_path)
    configs_file = _validate(_DeploymentConfigsFile, configs_raw, configs_path)
    search_space = _validate(SearchSpace, space_raw, space_path)

    instances = _index(instances_file.instances, "instances", instances_path)
    models = _index(models_file.models, "models", models_path, case_insensitive=True)
    quantizations = _index(configs_file.quantizations, "quantizations", configs_path)
    configs = _index(configs_file.deployment_configs, "deployment_configs", configs_path)

    for index, config in enumerate(configs_file.deployment_configs):
        for quantization in config.quantizations:
            if quantization not in quantizations:
                raise CatalogError(
                    f"unknown quantization {quantization!r}; defined: {', '.join(quantizations)}",
                    file=configs_path,
                    key=f"deployment_configs[{index}].quantizations.{quantization}",
                )

    catalog = Catalog(
        pricing=instances_file.pricing,
        instances=instances,
        models=models,
        deployment_configs=configs,
        quantizations=quantizations,
        dtype_bytes_per_param=models_file.dtype_bytes_per_param,
        search_space=search_space,
        source_dir=root,
    )
    _check_search_space(catalog, space_path)
    return catalog


@functools.cache
def default_catalog() -> Catalog:
    """The catalog from the default directory, loaded once per process."""
    return load_catalog()


# --- helpers -----------------------------------------------------------------------------


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]  # libyaml when built
    """PyYAML keeps the last of two equal keys; in a catalog that is a typo, so refuse it."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: Node) -> dict[Any, Any]:
    if isinstance(node, MappingNode):
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = loader.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:
                continue  # unhashable keys are rejected by construct_mapping below
            if duplicate:
                raise ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"duplicate key {key!r}",
                    key_node.start_mark,
                )
            seen.add(key)
    loader.flatten_mapping(node)
    return loader.construct_mapping(node, deep=True)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)


def _read(path: Path) -> tuple[dict[str, Any], str]:
    shown = _display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CatalogError("file not found", file=shown) from None
    except OSError as exc:
        raise CatalogError(f"cannot read: {exc}", file=shown) from exc
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise CatalogError(f"invalid YAML: {where}{problem}", file=shown) from exc
    if not isinstance(data, dict):
        raise CatalogError("expected a mapping at the top level", file=shown)
    return data, shown


def _key_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part == "[key]":
            path += " (key)"
        else:
            path += f".{part}" if path else str(part)
    return path or "(top level)"


def _entry_name(raw: Mapping[str, Any], loc: tuple[Any, ...]) -> str | None:
    # `instances[3]` is hard to find in a long file; the entry's name is not.
    if len(loc) < 2 or not isinstance(loc[1], int):
        return None
    entries = raw.get(str(loc[0]))
    if isinstance(entries, list) and 0 <= loc[1] < len(entries) and isinstance(entries[loc[1]], dict):
        name = entries[loc[1]].get("name")
        return str(name) if name is not None else None
    return None


def _validate(model: type[_M], raw: dict[str, Any], shown: str) -> _M:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        lines: list[tuple[str, str]] = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            cause = (error.get("ctx") or {}).get("error")
            if isinstance(cause, LocatedValueError):
                loc += cause.loc
                message = str(cause)
            else:
                message = error["msg"].removeprefix("Value error, ")
            name = _entry_name(raw, loc)
            if name is not None:
                message += f" (entry {name!r})"
            lines.append((_key_path(loc), message))
        key, message = lines[0]
        if len(lines) > 1:
            message += "".join(f"\n  also {shown}: {k}: {m}" for k, m in lines[1:])
        raise CatalogError(message, file=shown, key=key) from None


_E = TypeVar("_E", InstanceType, ModelSpec, QuantizationSpec, DeploymentConfig)


def _index(entries: list[_E], section: str, shown: str, *, case_insensitive: bool = False) -> dict[str, _E]:
    result: dict[str, _E] = {}
    first: dict[str, int] = {}
    for index, entry in enumerate(entries):
        name = str(entry.name)
        key = name.lower() if case_insensitive else name
        if key in first:
            raise CatalogError(
                f"duplicate name {name!r} (first at {section}[{first[key]}])",
                file=shown,
                key=f"{section}[{index}].name",
            )
        first[key] = index
        result[name] = entry
    return result


def _check_search_space(catalog: Catalog, shown: str) -> None:
    """Every value in the search space must be something the catalog can turn into a real config."""
    targets = {t for config in catalog.deployment_configs.values() for t in config.targets}
    widest_tp = max(i.max_tp_degree for i in catalog.instances.values())
    for dimension, values in catalog.search_space.values.items():
        for index, value in enumerate(values):
            problem: str | None = None
            if dimension == "deployment_config" and value not in catalog.deployment_configs:
                problem = f"no deployment config {value!r} in {DEPLOYMENT_CONFIGS_FILE}"
            elif dimension == "model_family" and not catalog.models_in_family(str(value)):
                problem = f"no model of family {value!r} in {MODELS_FILE}"
            elif dimension == "instance_family" and not catalog.instances_in_family(str(value)):
                problem = f"no instance type of family {value!r} in {INSTANCES_FILE}"
            elif dimension == "quantization" and value not in catalog.quantizations:
                problem = f"no quantization {value!r} in {DEPLOYMENT_CONFIGS_FILE}"
            elif dimension == "deployment_target" and value not in targets:
                problem = f"no deployment config offers target {value!r}"
            elif dimension == "tp_degree" and isinstance(value, int) and value > widest_tp:
                problem = f"no instance type has {value} accelerators (largest: {widest_tp})"
            if problem is not None:
                raise CatalogError(problem, file=shown, key=f"values.{dimension}[{index}]")
