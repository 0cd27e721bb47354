"""Service Quotas: how many instances of a type the account may run for endpoints or transform jobs.

A new account's quota for most large GPU types is 0: proving there only buys a ResourceLimitExceeded.
The plan reads the applied values once (ListServiceQuotas, paginated) and leaves those types out with
the quota to raise. A lookup that is not allowed or fails answers "unknown", and the plan goes on.
"""

from __future__ import annotations

import logging
from typing import Any

from pathprover.adapters.aws.clients import AwsClients

LOG = logging.getLogger(__name__)


class ServiceQuotasLookup:
    def __init__(self, clients: AwsClients) -> None:
        self._clients = clients
        self._values: dict[str, int] | None = None

    def _load(self) -> dict[str, int]:
        if self._values is None:
            values: dict[str, int] = {}
            try:
                pages = self._clients("service-quotas").get_paginator("list_service_quotas")
                for page in pages.paginate(ServiceCode="sagemaker"):
                    for quota in page.get("Quotas", []):
                        name, value = quota.get("QuotaName"), quota.get("Value")
                        if isinstance(name, str) and isinstance(value, int | float):
                            values[name] = int(value)
            except Exception as exc:  # quotas only sharpen the plan; without them it still works
                LOG.warning("cannot read SageMaker quotas (%s): planning without them", exc)
            self._values = values
        return self._values

    def instance_quota(self, instance_type: str, usage: str) -> int | None:
        return self._load().get(f"{instance_type} for {usage}")

    def values(self) -> dict[str, Any]:
        return dict(self._load())
