"""Base images come through ECR pull-through cache rules, not anonymous Docker Hub pulls by CodeBuild.

ECR Public and Quay rules need no credential and always exist; the Docker Hub rule exists only with
`-c DockerHubCredentialSecret=ecr-pullthroughcache/...`. The Lambdas learn which upstreams are cached
(PATHPROVER_BASE_IMAGE_REGISTRY) and render the Dockerfiles' FROM lines through exactly those."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aws_cdk", reason="the CDK app needs the infra extra: pip install -e '.[infra]'")

import infra.constants as C
from infra.config import ConfigError, HarnessConfig
from infra.iam import flatten

from pathprover.generate.render import BASE_IMAGE_CACHE_PREFIXES, parse_base_image_registry
from tests.infra.conftest import ACCOUNT, FULL, REGION, Synth, synthesize
from tests.infra.test_iam import policies

REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.<AWS::URLSuffix>"
SECRET = "ecr-pullthroughcache/dockerhub"


@pytest.fixture(scope="module")
def with_docker_hub(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize({**FULL, C.CTX_DOCKER_HUB_CREDENTIAL: SECRET}, tmp_path_factory.mktemp("cdk-docker-hub"))


def _rules(synth: Synth) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["UpstreamRegistryUrl"]: r["Properties"]
        for r in synth.resources("AWS::ECR::PullThroughCacheRule").values()
    }


def _spec(synth: Synth) -> str:
    for resource in synth.resources("AWS::Lambda::Function").values():
        env = resource["Properties"].get("Environment", {}).get("Variables", {})
        if "PATHPROVER_BASE_IMAGE_REGISTRY" in env:
            return flatten(env["PATHPROVER_BASE_IMAGE_REGISTRY"])
    raise AssertionError("no function has PATHPROVER_BASE_IMAGE_REGISTRY")


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_without_a_credential_ecr_public_and_quay_are_cached(full: Synth) -> None:
    rules = _rules(full)
    assert set(rules) == {"public.ecr.aws", "quay.io"}
    assert rules["public.ecr.aws"]["EcrRepositoryPrefix"] == BASE_IMAGE_CACHE_PREFIXES["public.ecr.aws"]
    assert rules["public.ecr.aws"]["UpstreamRegistry"] == "ecr-public"
    assert rules["quay.io"]["EcrRepositoryPrefix"] == BASE_IMAGE_CACHE_PREFIXES["quay.io"]
    assert all("CredentialArn" not in r for r in rules.values())
    # And the Lambdas render those through the cache, and Docker Hub parents through a one-time mirror
    assert _spec(full) == f"{REGISTRY};public.ecr.aws,quay.io,mirror:docker.io"


def test_with_a_credential_docker_hub_is_cached_too(with_docker_hub: Synth) -> None:
    rules = _rules(with_docker_hub)
    hub = rules["registry-1.docker.io"]
    assert hub["UpstreamRegistry"] == "docker-hub"
    assert hub["EcrRepositoryPrefix"] == BASE_IMAGE_CACHE_PREFIXES["docker.io"]
    assert flatten(hub["CredentialArn"]) == f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{SECRET}"
    assert _spec(with_docker_hub) == f"{REGISTRY};docker.io,public.ecr.aws,quay.io"


def test_the_stacks_spec_makes_render_pull_vllm_through_the_cache_with_the_credential_else_a_mirror(
    full: Synth, with_docker_hub: Synth
) -> None:
    registry = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
    without = parse_base_image_registry(_spec(full).replace("<AWS::URLSuffix>", "amazonaws.com"))
    assert without.pull_reference("vllm/vllm-openai:v0.11.0") == (
        f"{registry}/pathprover-mirror/docker-hub/vllm/vllm-openai:v0.11.0"
    )
    assert without.mirror_source("vllm/vllm-openai:v0.11.0") == "docker.io/vllm/vllm-openai:v0.11.0"
    with_hub = parse_base_image_registry(_spec(with_docker_hub).replace("<AWS::URLSuffix>", "amazonaws.com"))
    assert (
        with_hub.pull_reference("vllm/vllm-openai:v0.11.0")
        == f"{registry}/{BASE_IMAGE_CACHE_PREFIXES['docker.io']}/vllm/vllm-openai:v0.11.0"
    )


def test_an_arn_is_used_as_given(tmp_path: Path) -> None:
    arn = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{SECRET}-AbCdEf"
    synth = synthesize({**FULL, C.CTX_DOCKER_HUB_CREDENTIAL: arn}, tmp_path)
    assert _rules(synth)["registry-1.docker.io"]["CredentialArn"] == arn


@pytest.mark.parametrize("value", ["dockerhub", "pathprover/dockerhub", "arn:aws:secretsmanager:us-east-1:1:secret:x"])
def test_a_credential_outside_the_prefix_ecr_reads_is_refused(value: str) -> None:
    with pytest.raises(ConfigError, match=C.DOCKER_HUB_CREDENTIAL_PREFIX):
        HarnessConfig.from_mapping({C.CTX_CREATE_PATH_PROVER: "true", C.CTX_DOCKER_HUB_CREDENTIAL: value})


def test_only_the_image_builds_may_create_and_import_cached_repositories(full: Synth) -> None:
    cache = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{C.BASE_IMAGE_CACHE_ROOT}/*"
    importers = {}
    for owner, statement in policies(full):
        actions = set(_list(statement["Action"]))
        resources = {flatten(r) for r in _list(statement["Resource"])}
        if "ecr:BatchImportUpstreamImage" in actions or (
            "ecr:CreateRepository" in actions
            and not any(r.endswith(f"{C.BASE_IMAGE_MIRROR_ROOT}/*") for r in resources)
        ):
            importers[owner] = (actions, resources)
    farm = full.stack.prover.farm
    builders = {
        full.stack.get_logical_id(farm.build_project.role.node.default_child),
        full.stack.get_logical_id(farm.runner.project.role.node.default_child),
    }
    assert set(importers) == builders
    for actions, resources in importers.values():
        assert resources == {cache}
        assert {"ecr:BatchImportUpstreamImage", "ecr:CreateRepository", "ecr:BatchGetImage"} <= actions


def test_without_a_credential_the_build_may_mirror_docker_hub_parents_into_ecr_once(full: Synth) -> None:
    # The serving build's role may create and push pathprover-mirror/* (the one-time mirrors), no other role may
    mirror = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{C.BASE_IMAGE_MIRROR_ROOT}/*"
    pushers = {}
    for owner, statement in policies(full):
        resources = {flatten(r) for r in _list(statement["Resource"])}
        if mirror in resources:
            pushers[owner] = set(_list(statement["Action"]))
    farm = full.stack.prover.farm
    assert set(pushers) == {full.stack.get_logical_id(farm.build_project.role.node.default_child)}
    assert {"ecr:CreateRepository", "ecr:PutImage", "ecr:DescribeImages"} <= next(iter(pushers.values()))
