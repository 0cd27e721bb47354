"""cdk-nag AwsSolutions (v3 Validations API) and cfn-lint on the synthesized templates."""

from __future__ import annotations

import pytest

pytest.importorskip("aws_cdk", reason="the CDK app needs the infra extra: pip install -e '.[infra]'")
pytest.importorskip("cdk_nag", reason="the CDK app needs the infra extra: pip install -e '.[infra]'")
pytest.importorskip("cfnlint", reason="cfn-lint is part of the infra extra")

from aws_cdk import Validations
from cdk_nag import AwsSolutionsChecks
from cfnlint.api import ManualArgs, lint_file

from tests.infra.conftest import Synth

VARIANTS = ["full", "unscheduled", "harness_only", "agnostic", "existing_table"]
ALLOWED_WARNINGS = {
    # CDK's Function and StateMachine add an explicit DependsOn on the role they are given (so its policies
    # exist first); it duplicates the dependency the role's GetAtt already implies. Harmless.
    "W3005",
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_cdk_nag_aws_solutions_has_no_unacknowledged_findings(variant: str, request: pytest.FixtureRequest) -> None:
    synth: Synth = request.getfixturevalue(variant)  # synthesized with the pack registered: it did not fail
    result = AwsSolutionsChecks(verbose=True).validate_scope(synth.app)
    findings = [
        f"{v.rule_name}: {', '.join(r.construct_path for r in v.violating_resources)}" for v in result.violations
    ]
    assert result.success and not findings, "\n".join(findings)


def test_every_acknowledgement_has_a_written_reason(full: Synth) -> None:
    acknowledged: dict[str, str] = {}
    for construct in full.app.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                for rule, reason in dict(entry.data).items():
                    acknowledged[f"{construct.node.path} {rule}"] = str(reason)
    assert acknowledged, "expected acknowledgements (IAM5 prefixes, L1, CB3, CB5, S1)"
    short = {k: v for k, v in acknowledged.items() if len(v.strip()) < 40}
    assert not short, f"acknowledgements without a real reason: {short}"
    rules = {k.split(" ", 1)[1].split("::", 1)[-1].split("[", 1)[0] for k in acknowledged}
    assert rules == {
        "AwsSolutions-IAM5",
        "AwsSolutions-L1",
        "AwsSolutions-CB3",
        "AwsSolutions-CB5",
        "AwsSolutions-S1",
    }


@pytest.mark.parametrize("variant", VARIANTS)
def test_cfn_lint_reports_nothing(variant: str, request: pytest.FixtureRequest) -> None:
    synth: Synth = request.getfixturevalue(variant)
    matches = lint_file(synth.template_path, config=ManualArgs(regions=["us-east-1"]))
    errors = [f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in matches if m.rule.id.startswith("E")]
    assert not errors, "\n".join(errors)
    others = [f"{m.rule.id} {m.message}" for m in matches if m.rule.id not in ALLOWED_WARNINGS]
    assert not others, "\n".join(others)
