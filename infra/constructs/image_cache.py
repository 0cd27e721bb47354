"""Base images through ECR: pull-through cache rules, so CodeBuild never pulls parents anonymously from Docker Hub.

One rule per upstream the serving and runner images come from (pathprover.generate.render names the
upstreams and their repository prefixes, all under `pathprover-cache/`):

- ECR Public (`public.ecr.aws`: the Neuron DLC, the runner's python) and Quay need no credential: always.
- Docker Hub (vLLM, SGLang, PyTorch) requires one: a Secrets Manager secret named `ecr-pullthroughcache/...`
  holding `{"username": ..., "accessToken": ...}`, given with `-c DockerHubCredentialSecret=...`. Without it
  there is no Docker Hub rule; those parents are mirrored instead: the first build that needs one pulls it
  once from Docker Hub and pushes it to `pathprover-mirror/docker-hub/...`, and every later build pulls it
  from ECR (one anonymous pull per parent and account, not one per build).
- NVIDIA NGC (`nvcr.io`: TensorRT-LLM) has no ECR pull-through cache: pulled from NGC.

The first pull of `<registry>/pathprover-cache/<upstream>/<path>:<tag>` creates the cached repository and
imports the image; the builds that pull need `ecr:CreateRepository` and `ecr:BatchImportUpstreamImage` on
those repositories (https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache-iam.html).
The Lambdas receive `PATHPROVER_BASE_IMAGE_REGISTRY` = `<registry>;<upstreams with a rule>` and render the
Dockerfiles' FROM lines through it.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra import constants as C
from infra.iam import allow

ECR_CACHE_PULL = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:BatchImportUpstreamImage",
    "ecr:CreateRepository",
    "ecr:GetDownloadUrlForLayer",
)


ECR_MIRROR = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    "ecr:CreateRepository",
    "ecr:DescribeImages",
    "ecr:GetDownloadUrlForLayer",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
)


class BaseImageCache(Construct):
    """The pull-through cache rules (one per upstream; Docker Hub only with a credential).

    A rule's repository prefix is unique in an account and region, so only one deployment can own the
    rules: the default one (``owner=True``). A named deployment (-c PathProverName) creates none and pulls
    through the same rules, listing the upstreams they cover (docs/deploy.md, *Two deployments in one
    account*)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, docker_hub_credential: str | None, owner: bool = True
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.registry = f"{stack.account}.dkr.ecr.{stack.region}.{stack.url_suffix}"
        self.rules: dict[str, ecr.CfnPullThroughCacheRule] = {}
        self._upstreams: list[str] = []
        for upstream, prefix in C.BASE_IMAGE_CACHE_PREFIXES.items():
            credential = None
            if upstream == C.DOCKER_HUB:
                if docker_hub_credential is None:
                    continue
                credential = self._secret_arn(docker_hub_credential)
            self._upstreams.append(upstream)
            if not owner:
                continue
            registry, url = C.PULL_THROUGH_UPSTREAMS[upstream]
            self.rules[upstream] = ecr.CfnPullThroughCacheRule(
                self,
                f"Rule{registry.title().replace('-', '')}",
                ecr_repository_prefix=prefix,
                upstream_registry=registry,
                upstream_registry_url=url,
                credential_arn=credential,
            )

    @property
    def upstreams(self) -> list[str]:
        """The upstreams with a rule (this stack's, or the owning deployment's), in the table's order."""
        return list(self._upstreams)

    @property
    def mirrored(self) -> list[str]:
        """Upstreams without a rule that are mirrored once into ECR instead (Docker Hub without a credential)."""
        return [u for u in C.BASE_IMAGE_MIRROR_PREFIXES if u not in self._upstreams]

    @property
    def spec(self) -> str:
        """PATHPROVER_BASE_IMAGE_REGISTRY: this registry, the upstreams it has a rule for, and the mirrored ones."""
        entries = [*self.upstreams, *(C.MIRROR_UPSTREAM_SPEC + u for u in self.mirrored)]
        return f"{self.registry};{','.join(entries)}"

    def mirror_statement(self) -> iam.PolicyStatement:
        """Mirror a parent once: create `pathprover-mirror/...`, push it, and read it back."""
        arn = Stack.of(self).format_arn(
            service="ecr", resource="repository", resource_name=f"{C.BASE_IMAGE_MIRROR_ROOT}/*"
        )
        return allow(ECR_MIRROR, [arn])

    def _secret_arn(self, name_or_arn: str) -> str:
        """The credential's ARN: given as an ARN, or a partial ARN built from its name in this account/region."""
        if name_or_arn.startswith("arn:"):
            return name_or_arn
        return Stack.of(self).format_arn(
            service="secretsmanager",
            resource="secret",
            resource_name=name_or_arn,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

    def repositories_arn(self) -> str:
        """Every repository a cache rule creates: `repository/pathprover-cache/*`."""
        return Stack.of(self).format_arn(
            service="ecr", resource="repository", resource_name=f"{C.BASE_IMAGE_CACHE_ROOT}/*"
        )

    def pull_statement(self) -> iam.PolicyStatement:
        """Pull a parent image through the cache: create its repository and import it on first use."""
        return allow(ECR_CACHE_PULL, [self.repositories_arn()])

    def pull_reference(self, image: str) -> str | None:
        """`image` as pulled through this cache (a token string in an agnostic stack), None without a rule."""
        from pathprover.generate.render import split_image_reference

        upstream, path = split_image_reference(image)
        if upstream not in self._upstreams:
            return None
        return f"{self.registry}/{C.BASE_IMAGE_CACHE_PREFIXES[upstream]}/{path}"
