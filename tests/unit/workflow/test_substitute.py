"""workflow/substitute.py: a substitute prove is queued next, once, however often its task is retried."""

from pathprover.catalog import default_catalog
from pathprover.core.targets import ValidationTarget, to_run_config

CATALOG = default_catalog()


def test_a_substitute_is_queued_next_once_even_when_the_task_is_retried(tmp_path):
    from pathprover.adapters.local.artifacts import LocalArtifactStore
    from pathprover.stages.state import ProveState
    from pathprover.workflow.models import LaneTask
    from pathprover.workflow.planning import _store_queue, queued
    from pathprover.workflow.substitute import push_front

    class _Svc:
        artifacts = LocalArtifactStore(tmp_path, s3_bucket="pathprover-local")

    def prove(instance: str, attempt: int = 1) -> ProveState:
        target = ValidationTarget(model_name="Qwen/Qwen3-0.6B", instance_type=instance, tp_degree=1)
        return ProveState(execution_id="e1", run=to_run_config(target, CATALOG), attempt=attempt)

    # Given a lane whose stored queue holds two more proves, the first already taken
    lane = LaneTask(execution_id="e1", lane=0, max_cost_usd=10, queue=[prove("ml.g5.xlarge"), prove("ml.g6.xlarge")])
    svc: object = _Svc()
    _store_queue(lane, svc)  # type: ignore[arg-type]
    lane.queue_next = 1
    # When a substitute is pushed, twice (a retried settle task starts from the same lane state)
    substitute = prove("ml.g5.2xlarge", attempt=2)
    for _ in range(2):
        copy = lane.model_copy(deep=True)
        push_front(copy, substitute, svc)  # type: ignore[arg-type]
    # Then it is next, once, and the rest of the queue follows
    waiting = queued(copy, svc)  # type: ignore[arg-type]
    assert [(p.run.instance_type, p.attempt) for p in waiting] == [("ml.g5.2xlarge", 2), ("ml.g6.xlarge", 1)]
    assert copy.queue_total == 3
