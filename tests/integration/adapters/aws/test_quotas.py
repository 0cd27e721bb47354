"""ServiceQuotasLookup: the account's SageMaker instance quotas, read once (botocore Stubber)."""

from __future__ import annotations

from pathprover.adapters.aws.quotas import ServiceQuotasLookup
from tests.support.aws_stubs import stubbed_client as _clients


def test_the_accounts_instance_quotas_are_read_once_and_unknown_ones_stay_unknown():
    clients, stub = _clients("service-quotas")
    quotas = [
        {"QuotaName": "ml.g5.xlarge for endpoint usage", "Value": 4.0},
        {"QuotaName": "ml.p4d.24xlarge for endpoint usage", "Value": 0.0},
        {"QuotaName": "ml.g5.xlarge for transform job usage", "Value": 1.0},
    ]
    stub.add_response("list_service_quotas", {"Quotas": quotas, "NextToken": "n"}, {"ServiceCode": "sagemaker"})
    stub.add_response("list_service_quotas", {"Quotas": []}, {"ServiceCode": "sagemaker", "NextToken": "n"})
    lookup = ServiceQuotasLookup(clients)
    with stub:
        assert lookup.instance_quota("ml.p4d.24xlarge", "endpoint usage") == 0
        assert lookup.instance_quota("ml.g5.xlarge", "endpoint usage") == 4
        assert lookup.instance_quota("ml.g5.xlarge", "transform job usage") == 1
        assert lookup.instance_quota("ml.g6.xlarge", "endpoint usage") is None
    stub.assert_no_pending_responses()


def test_quotas_that_cannot_be_read_leave_the_plan_without_them():
    clients, stub = _clients("service-quotas")
    stub.add_client_error("list_service_quotas", "AccessDeniedException")
    lookup = ServiceQuotasLookup(clients)
    with stub:
        assert lookup.instance_quota("ml.p4d.24xlarge", "endpoint usage") is None
