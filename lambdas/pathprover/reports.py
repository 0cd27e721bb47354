"""The operations guide's monitoring queries, verbatim, so `pathprover report` and Athena agree."""

from __future__ import annotations

from typing import Final

RECENT_PATH_PROVES: Final = """SELECT config_id, model_family, instance_family, deployment_config, status
FROM mlcc_ci.benchmark_results
WHERE run_type = 'path_prove'
ORDER BY run_timestamp DESC
LIMIT 20;"""

UNFEASIBLE_CONFIGS: Final = """SELECT config_id, model_family, instance_family, deployment_config, failure_reason
FROM mlcc_ci.benchmark_results
WHERE status = 'unfeasible'
ORDER BY run_timestamp DESC;"""

COVERAGE_SUMMARY: Final = """SELECT model_family, instance_family, COUNT(*) as proven_count
FROM mlcc_ci.benchmark_results
WHERE status = 'completed'
GROUP BY model_family, instance_family
ORDER BY proven_count DESC;"""

REPORTS: Final[dict[str, str]] = {
    "recent": RECENT_PATH_PROVES,
    "unfeasible": UNFEASIBLE_CONFIGS,
    "coverage": COVERAGE_SUMMARY,
}
