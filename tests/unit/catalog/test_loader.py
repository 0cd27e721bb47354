"""catalog/loader.py: where the catalog is read from, and every kind of bad YAML fails loudly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from pathprover.catalog import (
    CatalogError,
    default_catalog,
    load_catalog,
)
from pathprover.catalog.loader import CATALOG_DIR_ENV, default_catalog_dir
from tests.unit.catalog.conftest import REPO_CATALOG, REQUIRED_CONFIGS

Edit = Callable[[dict[str, Any]], None]


def _edit(directory: Path, file_name: str, edit: Edit) -> None:
    path = directory / file_name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def _load_error(directory: Path) -> CatalogError:
    with pytest.raises(CatalogError) as caught:
        load_catalog(directory)
    return caught.value


# --- the shipped catalog ---------------------------------------------------------------------


def test_shipped_catalog_loads_and_default_is_cached() -> None:
    # Given the repo's catalog directory (no override)
    # When it is loaded through the default entry point twice
    first = default_catalog()
    second = default_catalog()

    # Then it loads, and the second call returns the cached object
    assert first is second
    assert first.instances and first.models and first.deployment_configs


def test_default_directory_is_the_repo_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given no environment override
    monkeypatch.delenv(CATALOG_DIR_ENV, raising=False)

    # When the default directory is resolved
    # Then it is the repo's top-level catalog/ folder
    assert default_catalog_dir() == REPO_CATALOG


def test_environment_variable_overrides_the_directory(monkeypatch: pytest.MonkeyPatch, catalog_copy: Path) -> None:
    # Given PATHPROVER_CATALOG_DIR points at a copy with one price changed
    _edit(catalog_copy, "instances.yaml", lambda d: d["instances"][0].update(price_per_hour_usd=123.0))
    monkeypatch.setenv(CATALOG_DIR_ENV, str(catalog_copy))

    # When the catalog is loaded without a directory
    loaded = load_catalog()

    # Then the copy is the one read
    assert loaded.source_dir == catalog_copy
    assert next(iter(loaded.instances.values())).price_per_hour_usd == 123.0


def test_missing_override_directory_is_a_catalog_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Given the override names a directory that does not exist
    monkeypatch.setenv(CATALOG_DIR_ENV, str(tmp_path / "nope"))

    # When the catalog is loaded, Then the error names the directory and the variable
    with pytest.raises(CatalogError, match=CATALOG_DIR_ENV):
        load_catalog()


# --- broken catalogs -------------------------------------------------------------------------


def _set(path: tuple[Any, ...], value: Any) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        target: Any = data
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return edit


@pytest.mark.parametrize(
    ("file_name", "edit", "key", "fragment"),
    [
        pytest.param(
            "instances.yaml",
            _set(("instances", 3, "accelerator_count"), 0),
            "instances[3].accelerator_count",
            "greater than 0",
            id="accelerator-count-zero",
        ),
        pytest.param(
            "instances.yaml",
            _set(("instances", 2, "price_per_hour_usd"), -1.5),
            "instances[2].price_per_hour_usd",
            "greater than 0",
            id="negative-price",
        ),
        pytest.param(
            "instances.yaml",
            _set(("instances", 4, "compute_capability"), 20),
            "instances[4].compute_capability",
            "less than or equal to 13",
            id="compute-capability-20",
        ),
        pytest.param(
            "instances.yaml",
            _set(("instances", 1, "vcpu"), "many"),
            "instances[1].vcpu",
            "valid integer",
            id="wrong-type",
        ),
        pytest.param(
            "instances.yaml",
            _set(("instances", 0, "gpu_count"), 1),
            "instances[0].gpu_count",
            "Extra inputs are not permitted",
            id="unknown-key",
        ),
        pytest.param(
            "instances.yaml",
            _set(("instances", 0, "family"), "g6"),
            "instances[0].family",
            "not 'g6'",
            id="family-disagrees-with-name",
        ),
        pytest.param(
            "instances.yaml",
            _set(("pricing", "region"), "the moon"),
            "pricing.region",
            "pattern",
            id="bad-pricing-block",
        ),
        pytest.param(
            "instances.yaml",
            _set(("instances", 1, "name"), "ml.g4dn.xlarge"),
            "instances[1].name",
            "duplicate name",
            id="duplicate-instance",
        ),
        pytest.param(
            "models.yaml",
            _set(("models", 2, "num_kv_heads"), 3),
            "models[2].num_kv_heads",
            "not divisible",
            id="kv-heads-do-not-divide-heads",
        ),
        pytest.param(
            "models.yaml",
            _set(("models", 0, "native_dtype"), "int2"),
            "models[0].native_dtype",
            "bf16",
            id="unknown-native-dtype",
        ),
        pytest.param(
            "models.yaml",
            _set(("models", 5, "active_params_b"), 999.0),
            "models[5].active_params_b",
            "exceeds",
            id="active-above-total",
        ),
        pytest.param(
            "deployment_configs.yaml",
            _set(("deployment_configs", 1, "quantizations", "int3"), {"min_compute_capability": None}),
            "deployment_configs[1].quantizations.int3",
            "unknown quantization",
            id="config-lists-unknown-quantization",
        ),
        pytest.param(
            "deployment_configs.yaml",
            _set(("deployment_configs", 0, "base_image"), "vllm/vllm-openai:latest"),
            "deployment_configs[0].base_image",
            "pinned",
            id="floating-image-tag",
        ),
        pytest.param(
            "deployment_configs.yaml",
            _set(("deployment_configs", 2, "quantizations", "fp8", "neuron"), True),
            "deployment_configs[2].quantizations.fp8.neuron",
            "no neuron",
            id="neuron-rule-without-neuron-kind",
        ),
        pytest.param(
            "deployment_configs.yaml",
            _set(("deployment_configs", 3, "quantizations", "fp16"), {"min_compute_capability": None}),
            "deployment_configs[3].quantizations.fp16",
            "same quantization",
            id="alias-duplicates-none",
        ),
        pytest.param(
            "search_space.yaml",
            _set(("values", "instance_family"), ["g5", "g7"]),
            "values.instance_family[1]",
            "no instance type of family 'g7'",
            id="search-space-family-without-instances",
        ),
        pytest.param(
            "search_space.yaml",
            _set(("values", "model_family"), ["qwen3", "phi"]),
            "values.model_family[1]",
            "no model of family 'phi'",
            id="search-space-family-without-models",
        ),
        pytest.param(
            "search_space.yaml",
            _set(("values", "quantization"), ["none", "int4"]),
            "values.quantization[1]",
            "no quantization 'int4'",
            id="search-space-unknown-quantization",
        ),
        pytest.param(
            "search_space.yaml",
            _set(("values", "tp_degree"), [1, "two"]),
            "values.tp_degree[1]",
            "positive integer",
            id="search-space-bad-tp",
        ),
        pytest.param(
            "search_space.yaml",
            _set(("values", "quantization"), ["none", "fp16"]),
            "values.quantization[1]",
            "duplicate",
            id="search-space-alias-duplicate",
        ),
        pytest.param(
            "search_space.yaml",
            _set(("sizing", "gpu_memory_utilization"), 1.5),
            "sizing.gpu_memory_utilization",
            "less than or equal to 1",
            id="sizing-out-of-range",
        ),
        pytest.param(
            "search_space.yaml",
            _set(("timing", "billed_stages"), ["deploy", "lunch"]),
            "timing.billed_stages[1]",
            "Input should be",
            id="unknown-billed-stage",
        ),
    ],
)
def test_broken_catalog_names_file_and_key(
    catalog_copy: Path, file_name: str, edit: Edit, key: str, fragment: str
) -> None:
    # Given a copy of the catalog with one mistake in one file
    _edit(catalog_copy, file_name, edit)

    # When it is loaded
    error = _load_error(catalog_copy)

    # Then the CatalogError names the file and the key path, and says what is wrong
    first_line = str(error).splitlines()[0]
    assert first_line.startswith(f"{catalog_copy / file_name}: {key}: "), first_line
    assert fragment in first_line
    assert error.file is not None and error.file.endswith(file_name)
    assert error.key == key


def test_error_message_names_the_entry(catalog_copy: Path) -> None:
    # Given an instance entry with a bad field
    _edit(catalog_copy, "instances.yaml", _set(("instances", 3, "accelerator_count"), 0))

    # When it is loaded
    error = _load_error(catalog_copy)

    # Then the entry's name is in the message, so it can be found in a long file
    assert "(entry 'ml.g5.2xlarge')" in str(error)


def test_shown_path_is_relative_to_the_working_directory(monkeypatch: pytest.MonkeyPatch, catalog_copy: Path) -> None:
    # Given the working directory is the catalog's parent
    monkeypatch.chdir(catalog_copy.parent)
    _edit(catalog_copy, "instances.yaml", _set(("instances", 3, "accelerator_count"), 0))

    # When a broken copy is loaded
    error = _load_error(catalog_copy)

    # Then the message uses the short path, as in the docs
    assert str(error).startswith(
        "catalog/instances.yaml: instances[3].accelerator_count: Input should be greater than 0"
    )


def test_invalid_yaml_names_file_and_line(catalog_copy: Path) -> None:
    # Given a file that is not valid YAML
    (catalog_copy / "models.yaml").write_text("models: [\n  - name: x\n", encoding="utf-8")

    # When it is loaded, Then the error names the file and a line
    error = _load_error(catalog_copy)
    assert "models.yaml" in str(error) and "line" in str(error)


def test_duplicate_yaml_key_is_refused(catalog_copy: Path) -> None:
    # Given a mapping with the same key twice (PyYAML would keep the last silently)
    path = catalog_copy / "search_space.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("  kv_reserve_tokens: 4096\n", "  kv_reserve_tokens: 4096\n  kv_reserve_tokens: 8\n"))

    # When it is loaded, Then the duplicate is reported with its file
    error = _load_error(catalog_copy)
    assert "search_space.yaml" in str(error) and "duplicate key 'kv_reserve_tokens'" in str(error)


def test_missing_file_is_named(catalog_copy: Path) -> None:
    # Given a catalog directory without deployment_configs.yaml
    (catalog_copy / "deployment_configs.yaml").unlink()

    # When it is loaded, Then the missing file is named
    error = _load_error(catalog_copy)
    assert "deployment_configs.yaml" in str(error) and "not found" in str(error)


def test_top_level_must_be_a_mapping(catalog_copy: Path) -> None:
    # Given a file whose top level is a list
    (catalog_copy / "instances.yaml").write_text("- a\n- b\n", encoding="utf-8")

    # When it is loaded, Then the error says so
    error = _load_error(catalog_copy)
    assert "instances.yaml" in str(error) and "mapping" in str(error)


def test_omitted_dense_fields_are_derived(catalog_copy: Path) -> None:
    # Given a dense model without active_params_b and kv_bytes_per_token
    def drop(data: dict[str, Any]) -> None:
        llama = next(m for m in data["models"] if m["name"] == "meta-llama/Llama-3.1-8B-Instruct")
        llama.pop("kv_bytes_per_token")
        llama.pop("active_params_b", None)

    _edit(catalog_copy, "models.yaml", drop)

    # When it is loaded
    model = load_catalog(catalog_copy).model("meta-llama/Llama-3.1-8B-Instruct")

    # Then active equals total and the KV bytes follow the formula (128 KiB per token)
    assert model.active_params_b == model.total_params_b
    assert model.kv_bytes_per_token == 131_072


def test_aliases_in_yaml_are_normalised(catalog_copy: Path) -> None:
    # Given YAML that writes fp16, vllm and ml.G5 instead of the canonical values
    def aliases(data: dict[str, Any]) -> None:
        data["values"]["quantization"] = ["fp16", "fp8", "awq", "gptq"]
        data["values"]["deployment_config"] = ["vllm", "sglang", "trtllm", "flask"]
        data["values"]["instance_family"] = ["ml.G5", "g6"]
        data["values"]["tp_degree"] = ["1", 2]

    _edit(catalog_copy, "search_space.yaml", aliases)

    # When it is loaded
    loaded = load_catalog(catalog_copy)

    # Then the search space holds the canonical values
    assert loaded.values("quantization") == ["none", "fp8", "awq", "gptq"]
    assert loaded.values("deployment_config") == list(REQUIRED_CONFIGS)
    assert loaded.values("instance_family") == ["g5", "g6"]
    assert loaded.values("tp_degree") == [1, 2]
