"""Tests of the failure classifier: rules, decision procedure, redaction, JSON Lines helper, corpus."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from pathprover.classifier import (
    CATEGORIES,
    EVIDENCE_MAX_CHARS,
    RETRYABLE,
    RULES,
    STAGES,
    Classification,
    classify,
    classify_lines,
    features,
    redact,
)
from pathprover.classifier.classify import BEST_GUESS_RULE_ID, MODEL_RULE_ID, SYMPTOM_RULES
from pathprover.classifier.model import LinearModel
from pathprover.classifier.rules import WEAK_LINE

CORPUS_PATH = Path(__file__).resolve().parents[1] / "data" / "classifier_corpus.jsonl"
HF_TOKEN = "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYz0123"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

HEALTH_CHECK = (
    "Failed. Reason: The primary container for production variant AllTraffic did not pass the "
    "ping health check. Please check CloudWatch logs for this endpoint."
)


def load_corpus() -> list[dict[str, Any]]:
    with CORPUS_PATH.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


# ------------------------------------------------------------------ categories


def test_cuda_oom_is_oom_and_not_retryable() -> None:
    # Given a vLLM CUDA OOM traceback line
    text = "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 350.00 MiB. GPU 0 has a total capacity"
    # When it is classified
    result = classify(text)
    # Then it is an OOM, not retryable, and the evidence is that line
    assert result.category == "oom"
    assert result.retryable is False
    assert result.evidence.startswith("torch.OutOfMemoryError")
    assert result.rule.startswith("oom.")


def test_health_check_with_oom_underneath_is_oom() -> None:
    # Given a SageMaker health-check failure whose CloudWatch tail shows a CUDA OOM
    text = HEALTH_CHECK + "\nERROR 12-04 10:24:52 [core.py:708] torch.OutOfMemoryError: CUDA out of memory."
    # When it is classified
    result = classify(text)
    # Then the cause (OOM) beats the symptom (health check)
    assert result.category == "oom"
    assert "OutOfMemoryError" in result.evidence


def test_health_check_with_unsupported_architecture_is_model_incompatibility() -> None:
    # Given a health-check failure whose log shows the engine cannot load the architecture
    text = HEALTH_CHECK + "\nValueError: Model architectures ['Glm4ForCausalLM'] are not supported for now."
    # When it is classified
    result = classify(text, stage="deploy")
    # Then it is a model incompatibility, not a timeout
    assert result.category == "model_incompatibility"
    assert result.retryable is False


def test_health_check_alone_is_a_retryable_timeout() -> None:
    # Given only the SageMaker health-check failure reason
    # When it is classified
    result = classify(HEALTH_CHECK)
    # Then it is a timeout symptom, retryable, and the stage is inferred as deploy
    assert result.category == "timeout"
    assert result.retryable is True
    assert result.stage == "deploy"


@pytest.mark.parametrize(
    "text",
    [
        "Endpoint creation waited in the waiting room for capacity planning",
        "Deploying bigscience/bloom-560m with bloom tokenizer",
        "zoom level set to 3; broom cleaned the room",
    ],
)
def test_words_containing_oom_are_not_oom(text: str) -> None:
    # Given text with "room", "bloom", "zoom" but no memory failure
    # When it is classified
    result = classify(text)
    # Then it is not an OOM
    assert result.category != "oom"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("scalellm exited with code 137", "oom"),
        ("Process finished with exit code 137 (interrupted by signal 9: SIGKILL)", "oom"),
        ("Killed", "oom"),
        ("line 28:     7 Killed                  /app/bin/server", "oom"),
        ("Error: Runtime exited with error: signal: killed", "oom"),
        ("torch.distributed.elastic.multiprocessing.api: failed (exitcode: -9) local_rank: 0", "oom"),
        ("the process was killed by memory", "oom"),
        # ... unless the same message names another cause, or says it was not the OOM killer
        ('"OOMKilled": false,\n"ExitCode": 137', "unknown"),
        ("Task timed out after 900.00 seconds\nexit code 137", "timeout"),
        ("State: Terminated\nReason: OOMKilled\nExit Code: 137", "oom"),
        ("Killed by user", "unknown"),
    ],
)
def test_a_kernel_kill_is_killed_by_memory_unless_the_message_says_otherwise(text: str, expected: str) -> None:
    # Given a SIGKILL / exit-137 message, with or without other evidence
    # When it is classified
    # Then it is the guide's "killed by memory", unless a timeout or "OOMKilled: false" says otherwise
    assert classify(text).category == expected


@pytest.mark.parametrize(
    "text",
    [
        "An error occurred (ThrottlingException) when calling the CreateEndpoint operation: Rate exceeded",
        "TooManyRequestsException: Rate Exceeded.",
        "com.amazonaws.services.s3.model.AmazonS3Exception: Please reduce your request rate. "
        "(Service: Amazon S3; Status Code: 503; Error Code: SlowDown)",
        "toomanyrequests: You have reached your pull rate limit.",
        "requests.exceptions.HTTPError: 429 Client Error: Too Many Requests for url: https://huggingface.co/x",
    ],
)
def test_throttling_is_retryable_capacity(text: str) -> None:
    # Given a throttling / rate-limit message
    # When it is classified
    result = classify(text)
    # Then it is a transient lack of service capacity: capacity, retryable
    assert result.category == "capacity"
    assert result.retryable is True


def test_stock_out_is_capacity() -> None:
    # Given an EC2 stock-out
    text = (
        "An error occurred (InsufficientInstanceCapacity) when calling the RunInstances operation: "
        "We currently do not have sufficient p4d.24xlarge capacity in the Availability Zone you requested"
    )
    # When it is classified
    # Then it is capacity, retryable
    assert classify(text).category == "capacity"


@pytest.mark.parametrize(
    "text",
    [
        "ResourceLimitExceeded: An error occurred (ResourceLimitExceeded) when calling the CreateEndpoint "
        "operation: The account-level service limit 'ml.g5.12xlarge for endpoint usage' is 0 Instances",
        "An error occurred (VcpuLimitExceeded) when calling the RunInstances operation: You have requested "
        "more vCPU capacity than your current vCPU limit of 16 allows",
        "Quota 'GPUS_ALL_REGIONS' exceeded. Limit: 0.0 globally.",
    ],
)
def test_quotas_are_service_limitations_even_when_they_mention_capacity(text: str) -> None:
    # Given a quota error (one of them says "vCPU capacity")
    # When it is classified
    result = classify(text)
    # Then the quota beats capacity: service_limitation, not retryable
    assert result.category == "service_limitation"
    assert result.retryable is False


def test_gated_model_is_a_service_limitation() -> None:
    # Given a Hugging Face gated-repo error
    text = (
        "huggingface_hub.errors.GatedRepoError: 401 Client Error.\n"
        "Cannot access gated repo for url https://huggingface.co/meta-llama/Llama-2-7b/resolve/main/config.json."
    )
    # When it is classified
    # Then it is a service limitation (access restriction), and the stage is not guessed from nothing
    assert classify(text).category == "service_limitation"


def test_unknown_message_is_unknown_and_retryable_not_code_bug() -> None:
    # Given a message no rule recognises
    text = "Request to service failed. If failure persists after retry, contact customer support."
    # When it is classified
    result = classify(text)
    # Then it is unknown (retried once by the brain), never code_bug; no rule decided it
    assert result.category == "unknown"
    assert result.retryable is True
    assert result.decided_by in ("model", "none") and result.rule in ("model.v1", "unknown.no_match")
    assert result.evidence == text


def test_empty_message_is_unknown_with_empty_evidence() -> None:
    # Given an empty message
    # When it is classified
    result = classify("")
    # Then it is unknown with no evidence and no stage
    assert (result.category, result.evidence, result.stage) == ("unknown", "", None)


def test_python_exception_is_code_bug() -> None:
    # Given a Python traceback ending in an AttributeError
    text = (
        "Traceback (most recent call last):\n"
        '  File "serve.py", line 3, in <module>\n'
        "AttributeError: 'NoneType' object has no attribute 'cpu'"
    )
    # When it is classified
    # Then it is a code bug
    assert classify(text).category == "code_bug"


@pytest.mark.parametrize(
    "text",
    [
        "KeyError: 'text'",
        "ERROR 10-16 05:20:48 registry.py:264] ImportError: /x/flash_attn_2_cuda.so: undefined symbol: _ZN3c10",
        "[TensorRT-LLM][ERROR] tensorrt_llm::common::TllmException: [TensorRT-LLM][ERROR] Assertion failed: d == a",
        "ModelError: Received server error (500) from model with message \"local variable 'pred' referenced before "
        'assignment"',
        "ERROR in serving: 'AssertionError' object has no attribute 'message'",
        "The command '/bin/sh -c apt-get install -y python3-pip' returned a non-zero code: 100",
        "Failed. Reason: AlgorithmError: Exit Code: 1",
        "COPY failed: file not found in build context or excluded by .dockerignore",
        "trtllm-build: not found",
        "ERROR: Could not find a version that satisfies the requirement foo==9.9 (from versions: none)",
        '{"errorMessage":"RequestId: x Error: Runtime exited without providing a reason",'
        '"errorType":"Runtime.ExitError"}',
    ],
)
def test_exceptions_and_failed_commands_are_code_bugs(text: str) -> None:
    # Given a named exception, a Python error text, a failed command or a Dockerfile error
    # When it is classified
    # Then it is a code bug, not retried
    result = classify(text)
    assert result.category == "code_bug", result.rule
    assert result.retryable is False


@pytest.mark.parametrize(
    "text",
    [
        "RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}",
        "RuntimeError: NCCL error: unhandled cuda error (run with NCCL_DEBUG=INFO for details)",
        "InternalServerError: We encountered an internal error. Please try again.",
        "ConnectionResetError: Cannot write to closing transport",
        "litellm.ServiceUnavailableError: SagemakerException - Too little data for declared Content-Length.",
        "LocalEntryNotFoundError: An error happened... Please check your internet connection and try again.",
        "ModelError: An error occurred (ModelError) when calling the InvokeEndpoint operation: Received server "
        "error (500) from primary and could not load the entire response body.",
    ],
)
def test_exceptions_that_name_no_cause_stay_unknown(text: str) -> None:
    # Given an exception line that wraps a crash with no cause, a server error or a dropped connection
    # When it is classified
    # Then it is unknown (retried once), not a code bug
    assert classify(text).category == "unknown"


def test_a_full_disk_beats_the_build_step_it_broke() -> None:
    # Given a BuildKit failure whose reason is a full disk
    text = (
        "ERROR: failed to build: failed to solve: ResourceExhausted: failed to read dockerfile: "
        "failed to create temp dir: mkdir /var/lib/docker/tmp/buildkit-mount1: no space left on device"
    )
    # When it is classified
    # Then the disk is the cause: unknown, retried once
    assert classify(text).category == "unknown"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "An error occurred (MaxSpotInstanceCountExceeded) when calling the RequestSpotInstances operation",
            "service_limitation",
        ),
        ("Status Reason: Max spot instance count exceeded. Launching EC2 instance failed.", "service_limitation"),
        ("Error launching instance: RequestLimitExceeded: Request limit exceeded.", "capacity"),
        ("SageMaker Batch currently doesn't support Model entity with container definitions", "service_limitation"),
        (
            "ERROR: failed to push x: failed to authorize: failed to fetch oauth token: 401 Unauthorized",
            "service_limitation",
        ),
    ],
)
def test_quotas_and_api_restrictions_versus_throttling(text: str, expected: str) -> None:
    # Given a *LimitExceeded / *CountExceeded code, a request-rate limit, an API restriction or an auth failure
    # When it is classified
    # Then quotas, restrictions and auth are service limitations and the request-rate limit is capacity
    assert classify(text).category == expected


@pytest.mark.parametrize(
    "text",
    [
        "NotImplementedError: Sharded Llama requires Flash Attention enabled models.",
        "ValueError: The output_size of gate's and up's weight = 192 is not divisible by weight quantization "
        "block_n = 128.",
        "RuntimeError: Expected is_sm90 || is_sm8x || is_sm75 to be true, but got false.",
        "ValueError: While loading model xxx, expected target modules in ['embed_tokens'] but received",
        "RuntimeError: Required but not provided tensors:{'transformer.layers.61.attention.qkv.per_channel_scale'}",
    ],
)
def test_engine_limitations_raised_as_exceptions_are_model_incompatibilities(text: str) -> None:
    # Given an engine exception that says the model, adapter or GPU is not supported
    # When it is classified
    # Then the unsupported combination beats the generic exception rule
    assert classify(text).category == "model_incompatibility"


def test_enumerated_possible_causes_are_not_evidence() -> None:
    # Given Ray's "potential root causes" followed by an enumerated list
    text = (
        "Worker unexpectedly exits with a connection error code 2. End of file. There are some potential root "
        "causes. (1) The process is killed by SIGKILL by OOM killer due to high memory usage. (2) ray stop --force"
    )
    # When it is classified
    # Then the listed OOM killer is a guess, not a cause
    assert classify(text).category == "unknown"


def test_codebuild_command_failure_is_code_bug_but_not_for_sigkill() -> None:
    # Given CodeBuild phase contexts with exit status 1 and 137
    failed = (
        "[Container] Phase context status code: COMMAND_EXECUTION_ERROR Message: Error while executing "
        "command: python build.py. Reason: exit status 1"
    )
    killed = failed.replace("exit status 1", "exit status 137")
    # When they are classified
    # Then the script failure is a code bug, the kill is "killed by memory"; both infer the build stage
    assert classify(failed).category == "code_bug"
    assert classify(failed).stage == "build"
    assert classify(killed).category == "oom" and classify(killed).rule == "oom.kernel_kill"


def test_transient_network_beats_a_failed_command() -> None:
    # Given a docker push that retried, hit EOF, then exited 1
    text = (
        "845237c43dbf: Retrying in 1 second\nEOF\n"
        "[Container] Command did not exit successfully docker push $REPOSITORY_URI:latest exit status 1"
    )
    # When it is classified
    # Then the dropped connection explains the exit: unknown (retried once), not code_bug
    assert classify(text).category == "unknown"


def test_lambda_timeout_and_lambda_memory_exhaustion() -> None:
    # Given Lambda REPORT lines with all memory used, and with a plain timeout
    full = "REPORT RequestId: x\tDuration: 6082.95 ms\tMemory Size: 6000 MB\tMax Memory Used: 6000 MB"
    partial = (
        full.replace("Max Memory Used: 6000", "Max Memory Used: 5000") + "\nRuntime exited with error: signal: killed"
    )
    timed_out = "2024-06-25T19:22:58.186Z  Task timed out after 900.00 seconds"
    # When they are classified
    # Then all memory used is OOM, so is a kernel kill (the guide's "killed by memory"), and the
    # timeout is a timeout
    assert classify(full).category == "oom"
    assert classify(partial).category == "oom"
    assert classify(timed_out).category == "timeout"


def test_lambda_report_split_over_lines_still_proves_memory_exhaustion() -> None:
    # Given a Lambda INIT_REPORT/REPORT whose fields a log viewer printed one per line
    text = (
        "INIT_REPORT Init Duration: 180000.45 ms Phase: invoke Status: timeout\n"
        "REPORT RequestId: x\nDuration: 180000.00 ms\nMemory Size: 192 MB\nMax Memory Used: 192 MB\nStatus: timeout"
    )
    # When it and its memory-to-spare variant are classified
    spare = text.replace("Max Memory Used: 192", "Max Memory Used: 120")
    # Then all memory used is the cause (OOM), and with memory to spare it is the Lambda timeout
    assert classify(text).category == "oom"
    assert "Max Memory Used: 192 MB" in classify(text).evidence
    assert classify(spare).category == "timeout"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # 128 + N is "killed by signal N": a crash signal names no cause, a kill signal proves nothing
        ("AlgorithmError: Exit Code: 139", "unknown"),
        ("subprocess.CalledProcessError: Command 'x' returned non-zero exit status -11.", "unknown"),
        ("ExecuteUserScriptError: ... exited with code 134", "unknown"),
        ("Command did not exit successfully make exit status 141", "unknown"),
        # ... but an ordinary non-zero exit, even a large one, is still the script's fault
        ("AlgorithmError: Exit Code: 1", "code_bug"),
        ("Command did not exit successfully docker build exit status 127", "code_bug"),
        ("fatal: could not read from remote repository, exit code 128", "code_bug"),
    ],
)
def test_signal_exit_codes_are_crashes_not_code_bugs(text: str, expected: str) -> None:
    # Given an exit code / status that may encode a signal
    # When it is classified
    # Then a signal exit is not a code bug
    assert classify(text).category == expected


@pytest.mark.parametrize(
    "text",
    [
        'VLLM Chat error :- can only concatenate str (not "list") to str',
        "Error: list indices must be integers or slices, not str",
        "argument of type 'NoneType' is not iterable",
        "not enough values to unpack (expected 3, got 2)",
        "invalid literal for int() with base 10: 'auto'",
        "expected str, bytes or os.PathLike object; path must be str, not NoneType",
    ],
)
def test_bare_python_error_texts_are_code_bugs(text: str) -> None:
    # Given the message of a Python TypeError/ValueError quoted without its class
    # When it is classified
    # Then it is a code bug, not an unmatched unknown
    assert classify(text).category == "code_bug"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[2025-03-09 00:57:15 TP4] Watchdog timeout (self.watchdog_timeout=300)\nKilled", "timeout"),
        ("INFO server_args=ServerArgs(watchdog_timeout=300, dist_timeout=None)", "unknown"),
        (
            'assert arch // 10 == 10, "FP8 is only supported on SM100 (compute capability 10.x) for FA4"',
            "model_incompatibility",
        ),
        (
            'expected production_variants.0.instance_type to be one of ["ml.t2.medium" "ml.t2.large"]',
            "service_limitation",
        ),
        ("Build failed to start. Cannot have more than 0 builds in queue for the account", "service_limitation"),
    ],
)
def test_families_found_by_the_blind9_and_blind10_waves(text: str, expected: str) -> None:
    # Given wordings the blind waves found unmatched (a watchdog timeout, an SM-only kernel,
    # an instance type outside a provider's enum, a CodeBuild account quota) and a config dump
    # When they are classified
    # Then each lands in its family, and a config key named *_timeout is not the timeout rule
    result = classify(text)
    if expected == "unknown":
        assert result.rule != "timeout.timed_out"
    else:
        assert result.category == expected


@pytest.mark.parametrize(
    ("text", "expected", "rule"),
    [
        # credentials refused, worded as an SDK exception or a registry error
        (
            "anthropic.AuthenticationError: Error code: 401 - {'type': 'authentication_error'}",
            "service_limitation",
            None,
        ),
        (
            "Error response from daemon: Get https://registry-1.docker.io/v2/: "
            "unauthorized: incorrect username or password",
            "service_limitation",
            None,
        ),
        (
            "Error response from daemon: pull access denied for myimage, "
            "repository does not exist or may require 'docker login'",
            "service_limitation",
            None,
        ),
        (
            "Build concurrency limit reached for your account. "
            "Build will enter queue once a concurrency becomes available.",
            "service_limitation",
            None,
        ),
        ("ValueError: Model 'm' requires accepting end-user license agreement (EULA).", "service_limitation", None),
        # a GPU too old for the dtype, said as an assertion; an unknown architecture
        (
            "AssertionError: Device compute capability 8.9 or higher required for FP8 execution.",
            "model_incompatibility",
            None,
        ),
        (
            "!! Warning, unknown architecture: Gemma2ForCausalLM !! Loading as LlamaForCausalLM",
            "model_incompatibility",
            None,
        ),
        # the CUDA compiler refusing a build flag is a build bug, not the model's architecture
        ("nvcc fatal   : Unsupported gpu architecture 'compute_35'", "code_bug", "code.template"),
        (
            "WARNING 08-15 11:44:47 scheduler.py:130] Input prompt (2715 tokens) is too long and exceeds limit of 2560",
            "code_bug",
            None,
        ),
        # crashes and network failures that name no cause, even wrapped in a generic exception
        (
            "ncclSystemError: System call (e.g. socket, malloc) or external library call failed or device error.",
            "unknown",
            None,
        ),
        (
            "HttpResponseError: (BadArgument) User container has crashed or terminated: Liveness probe failed",
            "unknown",
            None,
        ),
        ("srun: error: resolve_ctls_from_dns_srv: res_nsearch error: Unknown host", "unknown", None),
        # a supervisor's kill report is evidence even at WARNING level
        (
            "[2023-05-11 18:13:57 +0000] [7] [WARNING] Worker with pid 14824 was terminated due to signal 9",
            "oom",
            "oom.kernel_kill",
        ),
        (
            "[2023-04-01 09:57:40 +0000] [1] [WARNING] Worker with pid 3351 was terminated due to signal 11",
            "unknown",
            None,
        ),
    ],
)
def test_families_widened_after_wave_13(text: str, expected: str, rule: str | None) -> None:
    # Given wordings of the families wave 13 and the out-of-fold misses showed (access refused as a
    # client error, capability asserts, build-flag errors, crashes wrapped in generic exceptions,
    # kills logged as warnings)
    # When they are classified
    result = classify(text)
    # Then each lands in its family (a match on a WARNING line is weak evidence, so the model may
    # confirm it), and where a specific rule is named, that rule decided
    assert result.category == expected
    if rule is not None:
        assert result.rule == rule


@pytest.mark.parametrize(
    ("text", "expected", "rule"),
    [
        # a cause logged at INFO/WARNING level beats the generic failure line that follows it
        (
            "[INFO] write /tmp/buildkit/ingest-3: no space left on device\n"
            "[INFO] ----------------------------------------\n[ERROR] Exited with error code 1",
            "unknown",
            "unknown.disk_full",
        ),
        (
            "W 03-02 10:11:12 provision.py:88] Error creating pods: KubernetesError: Insufficient GPU capacity"
            " on the cluster.\nsubprocess.CalledProcessError: Command '['sky', 'launch']' returned non-zero exit"
            " status 1.",
            "capacity",
            "capacity.insufficient",
        ),
        # ... but only a real cause: network noise on an INFO line does not explain the failed command
        ("[INFO] Retrying in 5 seconds\n[ERROR] Exited with error code 1", "code_bug", "code.command_failed"),
        # ... and a specific exception on the error line still wins over the INFO line
        (
            "[INFO] write /tmp/x: no space left on device\nModuleNotFoundError: No module named 'vllm'",
            "code_bug",
            "code.python_exception",
        ),
        # an Auto* class with no model for this configuration class
        (
            "KeyError: <class 'transformers.models.falcon.configuration_falcon.FalconConfig'>",
            "model_incompatibility",
            "model.architecture_unsupported",
        ),
        ("KeyError: 'missing_key'", "code_bug", "code.python_exception"),
        # git asking for credentials it was never given
        (
            "fatal: could not read Password for 'https://gitlab.com': terminal prompts disabled",
            "service_limitation",
            "service.permission",
        ),
        ("ERROR: insufficient GPU capacity in zone us-east-1a", "capacity", "capacity.insufficient"),
        (
            "RuntimeError: CUDA runtime error (999) : unknown error at /pytorch/aten/src/THC/THCGeneral.cpp:50",
            "unknown",
            "unknown.inconclusive_crash",
        ),
    ],
)
def test_families_widened_after_wave_15(text: str, expected: str, rule: str) -> None:
    # Given wordings of the families the wave-15 misses showed (a cause logged below ERROR level
    # followed by a generic failure, loader KeyErrors on a config class, credential prompts,
    # "insufficient <resource> capacity", CUDA "unknown error" crashes), and near misses that must not move
    # When they are classified
    result = classify(text)
    # Then each lands in its family, decided by the named rule
    assert (result.category, result.rule) == (expected, rule)


@pytest.mark.parametrize(
    ("text", "expected", "rule"),
    [
        # bash's "Killed" in a Chinese locale, at the end of a training log (wave 16)
        ("Writing metrics: /home/u/logdir/metrics.jsonl\n已杀死", "oom", "oom.kernel_kill"),
        # a LoRA rank above what the engine accepts, worded as a bound (wave 16)
        ("ValueError: LoRA rank 384 must be less or equal than 320", "model_incompatibility", "model.lora_unsupported"),
    ],
)
def test_families_widened_after_wave_16(text: str, expected: str, rule: str) -> None:
    # Given wordings of two wave-16 misses (now train data)
    # When they are classified
    result = classify(text)
    # Then each lands in its family, decided by the named rule
    assert (result.category, result.rule) == (expected, rule)


def fixed_model(probabilities: dict[str, float]) -> LinearModel:
    """A model that answers the same probabilities whatever the text (zero weights, log-probability biases)."""
    classes = tuple(CATEGORIES)
    rest = (1.0 - sum(probabilities.values())) / (len(classes) - len(probabilities))
    bias = np.log(np.array([probabilities.get(c, rest) for c in classes], dtype=np.float32))
    return LinearModel(classes, np.zeros((len(classes), features.DIMENSIONS), dtype=np.float32), bias, {})


FAILED_COMMAND = (
    "[Container] Phase context status code: COMMAND_EXECUTION_ERROR Message: Error while executing "
    "command: python serve.py. Reason: exit status 1"
)


def test_a_model_sure_of_a_cause_beats_a_symptom_rule() -> None:
    # Given a failed command (a symptom rule) and a model 0.85 sure the cause is memory
    model = fixed_model({"oom": 0.85})
    # When it is classified
    result = classify(FAILED_COMMAND, fallback=model)
    # Then the model's cause decides: oom, not retryable, decided by the model with its confidence
    assert "code.command_failed" in SYMPTOM_RULES
    assert (result.category, result.rule, result.decided_by) == ("oom", MODEL_RULE_ID, "model")
    assert result.retryable is False and result.confidence == pytest.approx(0.85, abs=1e-3)


def test_a_failed_health_check_gives_way_to_a_less_sure_model() -> None:
    # Given a bare health-check failure (a symptom rule with the lower bar) and a model 0.65 sure it names no cause
    model = fixed_model({"unknown": 0.65})
    # When it is classified
    result = classify(HEALTH_CHECK, fallback=model)
    # Then the model decides (unknown, retried once) instead of the timeout symptom
    assert (result.category, result.decided_by) == ("unknown", "model")


@pytest.mark.parametrize("probabilities", [{"oom": 0.75}, {"code_bug": 0.9}])
def test_a_symptom_rule_stands_when_the_model_is_unsure_or_agrees(probabilities: dict[str, float]) -> None:
    # Given a failed command and a model either below the override threshold or agreeing with the rule
    # When it is classified
    result = classify(FAILED_COMMAND, fallback=fixed_model(probabilities))
    # Then the rule decides, as before
    assert (result.category, result.rule, result.decided_by) == ("code_bug", "code.command_failed", "rule")


def test_a_sure_cause_rule_is_never_overridden_by_the_model() -> None:
    # Given a CUDA OOM (a rule naming the cause, not a symptom) and a model 0.99 sure it is a code bug
    text = "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 350.00 MiB."
    # When it is classified
    result = classify(text, fallback=fixed_model({"code_bug": 0.99}))
    # Then the rule decides
    assert (result.category, result.decided_by) == ("oom", "rule")


def test_with_no_rule_an_unsure_model_still_names_its_best_category() -> None:
    # Given a failure message no rule matches and a model unsure overall (unknown 0.3) that leans to a code bug
    text = "Deployment of the workflow failed; see the job page for details."
    model = fixed_model({"unknown": 0.3, "code_bug": 0.25})
    # When it is classified
    result = classify(text, fallback=model)
    # Then its best named category answers (the guide's table has six), marked as a best guess
    assert (result.category, result.rule, result.decided_by) == ("code_bug", BEST_GUESS_RULE_ID, "model")
    assert result.retryable is False and result.confidence == pytest.approx(0.25, abs=1e-3)
    # And a guess never makes a config unfeasible for good: the prove is recorded failed
    assert (result.is_sure, result.status) == (False, "failed")


@pytest.mark.parametrize(
    ("text", "probabilities"),
    [
        # no word of a failure at all: nothing is known
        ("hello world", {"unknown": 0.3, "code_bug": 0.25}),
        # a failure, but the model spreads itself too thin for a best guess
        ("Deployment of the workflow failed.", {"unknown": 0.19, "code_bug": 0.15, "oom": 0.15}),
    ],
)
def test_unknown_is_kept_when_nothing_is_known(text: str, probabilities: dict[str, float]) -> None:
    # Given a message no rule matches, with no signal or with a model below the best-guess floor
    # When it is classified
    result = classify(text, fallback=fixed_model(probabilities))
    # Then it stays unknown (retried once)
    assert (result.category, result.rule, result.decided_by) == ("unknown", "unknown.no_match", "none")
    assert result.retryable is True


def test_hedged_mention_of_oom_is_not_evidence() -> None:
    # Given a message that only lists the OOM killer as a possible cause
    text = (
        "Worker unexpectedly exits with a connection error code 2. Some common causes include: "
        "(1) the process was killed by the OOM killer due to high memory usage, (2) ray stop --force was called"
    )
    # When it is classified
    # Then the guess is not evidence
    assert classify(text).category != "oom"


def test_warning_line_loses_to_a_real_error_line() -> None:
    # Given a WARNING that mentions out-of-memory and a real timeout error
    text = (
        "WARNING 05-01 12:00:00 worker.py:12] out of memory possible with this batch size\n"
        "Task timed out after 60.00 seconds"
    )
    # When it is classified
    # Then the error line decides
    assert classify(text).category == "timeout"


def test_step_functions_cause_with_escaped_newlines_is_split_into_lines() -> None:
    # Given a JSON-escaped cause, as Step Functions stores it
    text = (
        '{"Error":"States.TaskFailed","Cause":"Traceback (most recent call last):'
        '\\n  File \\"x.py\\"\\nKeyError: \'model\'"}'
    )
    # When it is classified
    result = classify(text)
    # Then the escaped newlines separate lines and the KeyError decides
    assert result.category == "code_bug"
    assert result.evidence.startswith("KeyError")


# -------------------------------------------------------------- evidence, stage


def test_evidence_is_redacted_and_trimmed() -> None:
    # Given an OOM line that carries an HF token and an AWS secret, and is very long
    line = (
        f"HF_TOKEN={HF_TOKEN} aws_secret_access_key={AWS_SECRET} "
        + "x" * 500
        + " torch.OutOfMemoryError: CUDA out of memory"
    )
    # When it is classified
    result = classify(line)
    # Then the evidence holds neither secret and fits 300 characters, around the match
    assert result.category == "oom"
    assert HF_TOKEN not in result.evidence
    assert AWS_SECRET not in result.evidence
    assert len(result.evidence) <= EVIDENCE_MAX_CHARS
    assert "OutOfMemoryError" in result.evidence


def test_secret_near_the_match_is_redacted_in_evidence() -> None:
    # Given a short deciding line with an HF token in it
    result = classify(f"GatedRepoError: 401 Client Error. token={HF_TOKEN}")
    # Then the token is masked
    assert HF_TOKEN not in result.evidence
    assert "REDACTED" in result.evidence


@pytest.mark.parametrize(
    ("text", "stage"),
    [
        ("[Container] Phase context status code: COMMAND_EXECUTION_ERROR Message: x. Reason: exit status 2", "build"),
        ("An error occurred (ThrottlingException) when calling the CreateEndpoint operation", "deploy"),
        ("ModelError: An error occurred (ModelError) when calling the InvokeEndpoint operation", "test"),
        ("An error occurred (ThrottlingException) when calling the CreateTrainingJob operation", "tune"),
        (
            "COMMAND_EXECUTION_ERROR: Error while executing command: docker push repo:latest. Reason: exit status 1",
            "push",
        ),
        ("jinja2.exceptions.UndefinedError: 'model_id' is undefined", "generate"),
        ("Task timed out after 900.00 seconds", None),
    ],
)
def test_stage_is_inferred_from_the_text(text: str, stage: str | None) -> None:
    # Given a message without a stage
    # When it is classified
    # Then the stage comes from the text, or is None
    assert classify(text).stage == stage


def test_given_stage_wins_and_aliases_are_normalised() -> None:
    # Given an explicit stage (and an alias of the pre-staging stage)
    # When messages are classified with it
    # Then the given stage is returned, normalised
    assert (
        classify("An error occurred (ThrottlingException) when calling the CreateEndpoint operation", "clean").stage
        == "clean"
    )
    assert classify("x", " Pre-Staging ").stage == "stage"
    assert classify("x", "").stage is None


def test_unknown_stage_is_rejected() -> None:
    # Given a stage name that is not a Path Prover stage
    # When it is classified
    # Then a ValueError names the stage
    with pytest.raises(ValueError, match="unknown stage 'launch'"):
        classify("x", "launch")


def test_classification_is_frozen_and_strict() -> None:
    # Given a classification
    result = classify("Task timed out after 3.00 seconds")
    # When it is mutated or built with an extra field
    # Then pydantic refuses
    with pytest.raises(ValidationError):
        result.category = "oom"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        Classification(
            category="oom",
            retryable=False,
            stage=None,
            evidence="",
            hint="",
            rule="r",
            extra=1,  # type: ignore[call-arg]
        )


# ------------------------------------------------------------------- redaction


def test_redact_masks_tokens_and_secrets_but_keeps_hashes() -> None:
    # Given text with an HF token, an access key id, a key=value secret, a bearer token and a git sha
    sha = "0123456789abcdef0123456789abcdef01234567"
    text = (
        f"token {HF_TOKEN} key AKIAIOSFODNN7EXAMPLE secret={AWS_SECRET} "
        f"Authorization: Bearer abcdefghijklmnop commit {sha} bare {AWS_SECRET}"
    )
    # When it is redacted
    out = redact(text)
    # Then every secret is masked, the commit sha survives, and redaction is idempotent
    assert HF_TOKEN not in out
    assert "AKIAIOSFODNN7EXAMPLE" not in out
    assert AWS_SECRET not in out
    assert "abcdefghijklmnop" not in out
    assert sha in out
    assert redact(out) == out


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", min_size=20, max_size=60))
def test_redact_never_leaves_an_hf_token(suffix: str) -> None:
    # Given any HF-token-shaped value embedded in a log line
    token = "hf_" + suffix
    # When the line is redacted
    # Then the token does not survive
    assert token not in redact(f"Downloading with {token} now")


# ---------------------------------------------------------------- classify_lines


def test_classify_lines_yields_results_and_skips_blank_lines() -> None:
    # Given JSON Lines input, with a blank line and an integer id
    lines = [
        json.dumps({"id": "a", "text": "Task timed out after 60.00 seconds"}),
        "",
        json.dumps({"id": 7, "text": "CUDA out of memory", "stage": "deploy"}),
    ]
    # When it is classified
    out = list(classify_lines(lines))
    # Then one dict per object is yielded
    keys = ("id", "category", "retryable", "stage", "failure_scope", "decided_by")
    assert [{k: o[k] for k in keys} for o in out] == [
        {
            "id": "a",
            "category": "timeout",
            "retryable": True,
            "stage": None,
            "failure_scope": "config",
            "decided_by": "rule",
        },
        {
            "id": "7",
            "category": "oom",
            "retryable": False,
            "stage": "deploy",
            "failure_scope": "config",
            "decided_by": "rule",
        },
    ]
    assert all(0.0 <= o["confidence"] <= 1.0 and o["rule"] for o in out)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        (json.dumps({"text": "x"}), "'id'"),
        (json.dumps({"id": "x"}), "'text'"),
        (json.dumps({"id": "x", "text": "y", "stage": 3}), "'stage'"),
        (json.dumps({"id": "x", "text": "y", "stage": "launch"}), "unknown stage"),
    ],
)
def test_classify_lines_names_the_malformed_line(bad: str, message: str) -> None:
    # Given a valid first line and a malformed second line
    lines = [json.dumps({"id": "ok", "text": "x"}), bad]
    # When the lines are consumed
    # Then a ValueError names line 2 and the problem
    with pytest.raises(ValueError, match=f"^line 2: .*{message}"):
        list(classify_lines(lines))


# ---------------------------------------------------------------- rule invariants


def test_rules_are_well_formed() -> None:
    # Given the rule table
    ids = [rule.id for rule in RULES]
    # Then ids are unique, categories are known, and retryability is the fixed table
    assert len(ids) == len(set(ids))
    assert {rule.category for rule in RULES} <= set(CATEGORIES)
    assert RETRYABLE == {
        "capacity": True,
        "timeout": True,
        "oom": False,
        "code_bug": False,
        "model_incompatibility": False,
        "service_limitation": False,
        "unknown": True,
    }
    assert set(STAGES) == {
        "generate",
        "build",
        "push",
        "deploy",
        "test",
        "tune",
        "adapter",
        "benchmark",
        "register",
        "clean",
        "stage",
    }


def test_priorities_of_different_categories_never_tie() -> None:
    # Given the rules' priorities, normal and demoted (INFO/WARN lines)
    from pathprover.classifier.rules import WEAK_LINE_DIVISOR

    by_score: dict[float, set[str]] = {}
    for rule in RULES:
        for score in (rule.priority, rule.priority / WEAK_LINE_DIVISOR):
            by_score.setdefault(score, set()).add(rule.category)
    # Then one score always means one category, so the line order never changes the category
    assert all(len(categories) == 1 for categories in by_score.values())


# ---------------------------------------------------------------- properties

NOISE_LINES = [
    "INFO 05-01 12:00:00 api_server.py:149] vLLM API server version 0.6.3",
    "[Container] 2024/01/01 00:00:00 Running command echo building",
    "Loading safetensors checkpoint shards: 100% Completed | 4/4",
    "2023-09-11 16:29:10 +0000 [17720] Starting gunicorn 20.1.0",
    "Downloading shards: 100%|##########| 2/2 [00:10<00:00, 5.1s/it]",
    "Model config: dtype=torch.bfloat16, tensor_parallel_size=2",
]
_RANDOM_NOISE = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789 .,:=-_[]()", max_size=60).filter(
    lambda line: not any(rule.pattern.search(line) for rule in RULES)
)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_classification_is_total_and_deterministic(text: str) -> None:
    # Given any text at all
    # When it is classified twice
    first = classify(text)
    second = classify(text)
    # Then a valid, consistent classification comes back, the same both times
    assert first == second
    assert first.category in CATEGORIES
    assert first.retryable is RETRYABLE[first.category]
    assert len(first.evidence) <= EVIDENCE_MAX_CHARS
    assert first.stage is None or first.stage in STAGES


RULE_DECIDED = [
    item
    for item in load_corpus()
    if (verdict := classify(item["text"])).decided_by == "rule" and verdict.confidence == 1.0
]
"""Messages a sure rule decides (the model cannot override them, so noise and case must not matter)."""
MODEL_DECIDED = [
    item
    for item in load_corpus()
    if classify(item["text"]).decided_by == "model"
    and any(line.strip() and not WEAK_LINE.search(line) for line in item["text"].splitlines())
]
"""Messages the model decides that have an error line (INFO noise is left out only next to one)."""
INFO_NOISE = [
    "INFO 05-01 12:00:00 api_server.py:149] vLLM API server version 0.6.3",
    "2024-01-01T00:00:00Z INFO Starting shard rank=0",
    "[W] Using the default chat template",
    "DEBUG: loading weights from /opt/ml/model",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    item=st.sampled_from(RULE_DECIDED),
    before=st.lists(st.one_of(st.sampled_from(NOISE_LINES), _RANDOM_NOISE), max_size=4),
    after=st.lists(st.one_of(st.sampled_from(NOISE_LINES), _RANDOM_NOISE), max_size=4),
)
def test_unrelated_noise_lines_do_not_change_a_rule_decision(
    item: dict[str, Any], before: list[str], after: list[str]
) -> None:
    # Given a corpus message a rule decides, wrapped in unrelated log lines
    noisy = "\n".join([*before, item["text"], *after])
    # When both are classified
    # Then the category is the same
    assert classify(noisy).category == classify(item["text"]).category


@settings(max_examples=100, deadline=None)
@given(
    item=st.sampled_from(MODEL_DECIDED),
    before=st.lists(st.sampled_from(INFO_NOISE), max_size=3),
    after=st.lists(st.sampled_from(INFO_NOISE), max_size=3),
)
def test_info_lines_do_not_change_a_model_decision(item: dict[str, Any], before: list[str], after: list[str]) -> None:
    # Given a corpus message the model decides, wrapped in INFO/DEBUG/WARNING lines
    noisy = "\n".join([*before, item["text"], *after])
    # When both are classified
    # Then the model reads the same error lines and gives the same answer
    assert classify(noisy).category == classify(item["text"]).category


@settings(max_examples=150, deadline=None)
@given(item=st.sampled_from(RULE_DECIDED))
def test_letter_case_does_not_change_a_rule_decision(item: dict[str, Any]) -> None:
    # Given a corpus message in upper and lower case
    text = item["text"]
    # When each is classified
    # Then the category does not change
    expected = classify(text).category
    assert classify(text.upper()).category == expected
    assert classify(text.lower()).category == expected


# ---------------------------------------------------------------------- corpus


def test_corpus_is_well_formed() -> None:
    # Given the labelled corpus
    corpus = load_corpus()
    counts = Counter(item["category"] for item in corpus)
    blind = [item for item in corpus if item["split"] == "blind"]
    sources = Counter(item["source"] for item in corpus)
    # Then it is large enough, every category is well represented in both splits, a blind split
    # (that neither the rules nor the model were fitted on) is kept, and every row is valid
    assert len(corpus) >= 1500
    assert set(counts) == set(CATEGORIES) and min(counts.values()) >= 100
    # (the blind split is the newest wave, collected after the last rule revision; an older blind wave
    # becomes train data once its misses have been read, so the blind split is smaller than it once was)
    assert len(blind) >= 50
    blind_counts = Counter(item["category"] for item in blind)
    assert set(blind_counts) == set(CATEGORIES) and min(blind_counts.values()) >= 5
    # And no thread supplies both a train and a blind item (the model never saw a blind source)
    train_sources = {item["source"] for item in corpus if item["split"] == "train"}
    assert not train_sources & {item["source"] for item in blind}
    assert len({item["id"] for item in corpus}) == len(corpus)
    assert max(sources.values()) <= 2, sources.most_common(1)
    for item in corpus:
        assert set(item) == {"id", "text", "category", "retryable", "stage", "source", "split"}, item["id"]
        assert item["split"] in ("train", "blind"), item["id"]
        assert item["retryable"] is RETRYABLE[item["category"]], item["id"]
        assert item["stage"] is None or item["stage"] in STAGES, item["id"]
        assert item["source"].startswith("https://"), item["id"]


def _accuracy(items: list[dict[str, Any]]) -> tuple[float, float]:
    results = [classify(item["text"], item["stage"]) for item in items]
    category = sum(r.category == i["category"] for r, i in zip(results, items, strict=True)) / len(items)
    retryable = sum(r.retryable == i["retryable"] for r, i in zip(results, items, strict=True)) / len(items)
    return category, retryable


@pytest.mark.slow
def test_corpus_accuracy() -> None:
    # Given the labelled corpus: the train split (rules revised and model fitted on it) and the blind split
    corpus = load_corpus()
    train = [item for item in corpus if item["split"] == "train"]
    blind = [item for item in corpus if item["split"] == "blind"]
    # When every message is classified with its stage
    train_category, train_retryable = _accuracy(train)
    blind_category, blind_retryable = _accuracy(blind)
    print(f"\ntrain split: {len(train)} items, category {train_category:.3f}, retryable {train_retryable:.3f}")
    print(f"blind split: {len(blind)} items, category {blind_category:.3f}, retryable {blind_retryable:.3f}")
    # Then the seen items are almost all right, and the blind split stays at or above the figure
    # docs/classifier.md reports (a regression guard, not a target: the blind items were measured once)
    assert train_category >= 0.95 and train_retryable >= 0.97
    assert blind_category >= BLIND_CATEGORY_FLOOR and blind_retryable >= BLIND_RETRYABLE_FLOOR
    # And docs/classifier.md reports what this code measures (retrain or re-measure, then update it)
    doc = (Path(__file__).resolve().parents[2] / "docs" / "classifier.md").read_text(encoding="utf-8")
    assert f"| rules + model (shipped) | {blind_category:.1%} | {blind_retryable:.1%} |" in doc


BLIND_CATEGORY_FLOOR = 0.85
BLIND_RETRYABLE_FLOOR = 0.92
