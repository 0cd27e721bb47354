"""Nearest substitution exactly as the operations guide states."""

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from pathprover.brain.nearest import nearest
from pathprover.core.dimensions import DIMENSIONS, ConfigVector
from tests.support.history_rows import history_of, history_row

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def row(dc, family, inst, q, tp, target, status="completed", days=0.0, category=None, reason=None):
    return history_row(
        dc, family, inst, q, tp, target, now=NOW, status=status, hours=days * 24, category=category, reason=reason
    )


def guide_history(extra=()):
    return history_of(
        [
            row("transformers-vllm", "qwen3", "g5", "none", 1, "realtime-inference", days=20),
            row("transformers-sglang", "qwen3", "g5", "none", 1, "realtime-inference", days=9),
            row("transformers-vllm", "qwen3", "g5", "none", 1, "async-inference", days=3),
            row("transformers-vllm", "llama3", "g5", "none", 1, "async-inference", days=1),
            *extra,
        ]
    )


REQUEST = ConfigVector(
    deployment_config="sglang",
    model_family="qwen3",
    instance_family="g5",
    quantization="fp16",
    tp_degree=1,
    deployment_target="async-inference",
)


def test_the_guides_example_gives_its_stated_order():
    # Given the guide's three proven qwen3 configs (and a closer llama3 one that must not cross the family)
    result = nearest(guide_history(), REQUEST)
    # Then the order is: vllm+async (d1, deployment_config), sglang+realtime (d1, deployment_target), vllm+realtime (d2)
    got = [
        (s.distance, s.changed, s.config["deployment_config"], s.config["deployment_target"])
        for s in result.substitutions
    ]
    assert got == [
        (1, ["deployment_config"], "transformers-vllm", "async-inference"),
        (1, ["deployment_target"], "transformers-sglang", "realtime-inference"),
        (2, ["deployment_config", "deployment_target"], "transformers-vllm", "realtime-inference"),
    ]
    assert result.message is None
    assert result.substitutions[0].explanation == ["deployment_config: 'transformers-sglang' → 'transformers-vllm'"]


def test_recency_breaks_distance_ties():
    # Given the sglang+realtime proof is re-proven more recently than vllm+async
    history = guide_history([row("transformers-sglang", "qwen3", "g5", "none", 1, "realtime-inference", days=0.5)])
    result = nearest(history, REQUEST)
    assert [s.changed for s in result.substitutions[:2]] == [["deployment_target"], ["deployment_config"]]


def test_failed_and_unfeasible_rows_are_never_suggested():
    history = guide_history(
        [
            row(
                "transformers-sglang",
                "qwen3",
                "g5",
                "awq",
                1,
                "async-inference",
                status="failed",
                days=0,
                category="capacity",
            ),
            row(
                "transformers-sglang",
                "qwen3",
                "g5",
                "fp8",
                1,
                "async-inference",
                status="unfeasible",
                days=0,
                category="oom",
                reason="CUDA out of memory",
            ),
        ]
    )
    assert all(s.distance >= 1 and s.config["quantization"] == "none" for s in nearest(history, REQUEST).substitutions)


def test_no_coverage_in_the_family_names_the_distance():
    # Given only llama3 and qwen3 proofs / When gemma is requested
    request = REQUEST.model_copy(update={"model_family": "gemma"})
    result = nearest(guide_history(), request)
    # Then nothing crosses the family, and the message names the nearest distance anywhere (llama3 vllm+async: 2)
    assert result.substitutions == []
    assert result.message == "no coverage — nearest proven config is 2 dimensions away"


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["transformers-vllm", "transformers-sglang"]),
            st.sampled_from(["qwen3", "llama3"]),
            st.sampled_from(["g5", "g6e"]),
            st.sampled_from(["none", "fp8"]),
            st.sampled_from([1, 2]),
            st.sampled_from(["realtime-inference", "async-inference"]),
            st.floats(min_value=0, max_value=30),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_suggestions_are_same_family_sorted_by_distance_then_recency(proofs):
    history = history_of([row(*p[:6], days=p[6]) for p in proofs])
    request = ConfigVector(deployment_config="transformers-vllm", model_family="qwen3", instance_family="g5")
    result = nearest(history, request, limit=100)
    keys = [(s.distance, -datetime.fromisoformat(s.config["run_timestamp"]).timestamp()) for s in result.substitutions]
    assert keys == sorted(keys)
    assert all(s.config["model_family"] == "qwen3" for s in result.substitutions)
    for s in result.substitutions:
        assert s.distance == sum(s.config[d] != request.as_dict()[d] for d in DIMENSIONS)
    if not any(p[1] == "qwen3" for p in proofs):
        assert result.message is not None and result.message.startswith("no coverage")
