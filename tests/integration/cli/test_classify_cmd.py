"""cli/classify_cmd.py end to end: one message, JSON Lines on stdin, scope, and bad input."""

import json

import pytest

from pathprover.cli.app import app
from tests.integration.cli.conftest import run, runner


def test_classify_jsonl_on_stdin():
    lines = "\n".join(
        json.dumps(x)
        for x in [
            {"id": "a", "text": "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"},
            {"id": "b", "text": "An error occurred (InsufficientInstanceCapacity) when calling CreateEndpoint"},
        ]
    )
    result = run("classify", input=lines + "\n")
    verdicts = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(v["id"], v["category"], v["retryable"]) for v in verdicts] == [
        ("a", "oom", False),
        ("b", "capacity", True),
    ]
    assert all(set(v) >= {"id", "category", "retryable", "stage"} for v in verdicts)


def test_classify_prints_the_scope_for_text_alone_and_with_a_stage():
    # Given an account quota, as text alone and with the stage it arose in
    quota = (
        "An error occurred (ResourceLimitExceeded) when calling the CreateEndpoint operation: The account-level "
        "service limit 'ml.g5.xlarge for endpoint usage' is 0 Instances"
    )
    # When it is classified, as JSON and as text
    alone = json.loads(run("classify", quota, "--json").stdout)
    staged = json.loads(run("classify", quota, "--stage", "deploy", "--origin", "api", "--json").stdout)
    text = run("classify", quota, "--stage", "deploy").stdout
    # Then the scope is in both, with the limit to raise
    assert alone["failure_scope"] == staged["failure_scope"] == "account"
    assert alone["category"] == "service_limitation" and staged["stage"] == "deploy"
    assert "ml.g5.xlarge for endpoint usage" in staged["action"]
    assert "scope:     account" in text and "action:" in text
    assert {"decided_by", "confidence", "rule"} <= set(alone)


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["classify", ""], None, "the message is empty"),
        (["classify", "   "], None, "the message is empty"),
        (["classify", "x", "--stage", "bogus"], None, "unknown stage 'bogus'"),
        (["classify", "x", "--origin", "cloud"], None, "unknown origin 'cloud'"),
        (["classify"], '{"id": 1, "text": "ok"}\n{"id": 2}\n', "line 2: 'text' is missing"),
        (["classify"], '{"id": 1, "text": "ok"}\nnot json\n', "line 2: not valid JSON"),
        (["classify"], '{"id": 1, "text": "x", "stage": "nowhere"}\n', "line 1: unknown stage 'nowhere'"),
    ],
)
def test_classify_bad_input_is_one_clear_error(args, stdin, message):
    # Given bad input / When it is classified / Then one clear error line, exit 2, no traceback
    result = runner.invoke(app, args, input=stdin)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_classify_binary_and_huge_input_get_an_answer_or_a_clear_error():
    # Given binary garbage on stdin, and a 1 MB message with its cause at the end and a token at the start
    binary = runner.invoke(app, ["classify"], input=b"\xff\xfe\x00\x9c garbage\n")
    huge = "hf_" + "A1b2C3d4E5f6G7h8I9j0K1l2" + " x" * 500_000 + "\ntorch.OutOfMemoryError: CUDA out of memory"
    answer = json.loads(run("classify", huge, "--json").stdout)
    garbage = json.loads(run("classify", "\x00\x01\udcff\x7f", "--json").stdout)
    # Then binary JSON Lines are refused naming the line, the huge message is judged from its tail,
    # redacted, and control characters get an answer
    assert binary.exit_code == 2 and "line 1: not UTF-8" in binary.output
    assert answer["category"] == "oom" and "A1b2C3d4" not in json.dumps(answer)
    assert garbage["category"] in ("unknown", "code_bug") and garbage["rule"]
