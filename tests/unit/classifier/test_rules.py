"""classifier/rules.py: which rule names each failure family, and the rule table's invariants."""

from __future__ import annotations

from typing import get_args

import pytest

from pathprover.classifier import (
    CATEGORIES,
    RETRYABLE,
    RULES,
    STAGES,
    classify,
)
from pathprover.core.stage_table import Stage
from tests.unit.classifier.conftest import HEALTH_CHECK

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
    text = "An unexpected problem occurred. Please contact customer support."
    # When it is classified
    result = classify(text)
    # Then it is unknown (retried once by the brain), never code_bug; no rule decided it
    assert result.category == "unknown"
    assert result.retryable is True
    assert result.decided_by in ("model", "none") and result.rule in ("model.v1", "unknown.no_match")
    assert result.evidence == text


def test_a_service_that_failed_without_a_cause_is_an_inconclusive_crash() -> None:
    # Given SageMaker's own words for a hosting failure that names no cause
    text = "Request to service failed. If failure persists after retry, contact customer support."
    # When it is classified
    result = classify(text)
    # Then a rule decides it is an inconclusive crash: unknown, retried once
    assert (result.category, result.rule, result.retryable) == ("unknown", "unknown.inconclusive_crash", True)


def test_a_process_that_exited_unexpectedly_is_unknown_but_a_named_cause_still_wins() -> None:
    # Given a crash that names no cause, and the same crash with an OOM in its log
    bare = "FailedPrecondition: 400 Model server exited unexpectedly Model server logs can be found at ..."
    with_cause = "Worker exited unexpectedly.\ntorch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2 GiB"
    # When they are classified
    # Then the bare crash is unknown, and the named cause decides the other
    assert classify(bare).category == "unknown"
    assert classify(with_cause).category == "oom"


def test_a_catalog_offering_nothing_that_matches_is_a_service_limitation() -> None:
    # Given SkyPilot's answer when no cloud offers the requested accelerator
    text = "sky.exceptions.ResourcesUnavailableError: Catalog does not contain any instances satisfying the request"
    # When it is classified
    # Then the provider does not offer it: a service limitation, not retried
    assert classify(text).category == "service_limitation"


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
    # And the stages are the one Stage type's, in lifecycle order (no copy to keep in step)
    assert get_args(Stage) == STAGES


def test_priorities_of_different_categories_never_tie() -> None:
    # Given the rules' priorities, normal and demoted (INFO/WARN lines)
    from pathprover.classifier.rules import WEAK_LINE_DIVISOR

    by_score: dict[float, set[str]] = {}
    for rule in RULES:
        for score in (rule.priority, rule.priority / WEAK_LINE_DIVISOR):
            by_score.setdefault(score, set()).add(rule.category)
    # Then one score always means one category, so the line order never changes the category
    assert all(len(categories) == 1 for categories in by_score.values())


def test_a_gpu_named_as_a_requirement_is_a_model_incompatibility() -> None:
    # Given FlashAttention's words when the GPU is too small for a head size
    text = "FlashAttention backward for head dim > 64 requires A100 or H100 GPUs as the implementation needs memory."
    # When it is classified
    # Then the configuration cannot run on this GPU family
    assert classify(text).category == "model_incompatibility"


def test_a_quota_on_a_request_rate_is_throttling_not_a_quota_to_raise() -> None:
    # Given Vertex AI's 429 for a per-minute request quota, and an allocation quota worded alike
    rate = "Unhandled exception: Quota exceeded for aiplatform.googleapis.com/generate_content_requests_per_minute"
    allocation = "ResourceExhausted: Quota exceeded for aiplatform.googleapis.com/custom_model_training_a100_gpus"
    # When they are classified
    # Then the request rate is capacity (retried), the allocation a service limitation
    assert classify(rate).category == "capacity"
    assert classify(allocation).category == "service_limitation"


def test_validation_build_and_missing_file_errors_are_code_bugs() -> None:
    # Given errors of our own inputs, builds and files, worded by Terraform, pip, nvcc, Docker and Triton
    texts = [
        "Error: expected build_timeout to be in the range (5 - 480), got 2160",
        "ERROR: Package 'setuptools' requires a different Python: 3.7.13 not in '>=3.8'",
        '1 catastrophic error detected in the compilation of "kernels/attention.cu".',
        "Build failed: The command '/bin/sh -c npm install' returned a non-zero code:",
        "failed to load 'mymodel' version 1: Internal: failed to stat file /tmp/x/1/model.onnx",
    ]
    # When they are classified
    # Then each is a code bug, never retried
    assert [classify(t).category for t in texts] == ["code_bug"] * len(texts)


def test_a_storage_client_that_asks_to_check_credentials_is_a_service_limitation() -> None:
    # Given Triton's answer when it cannot sign S3 requests
    text = "E0515 tritonserver.cc:2273] Internal: Unable to create S3 filesystem client. Check account credentials."
    # When it is classified
    # Then the account's access is at fault, not the server
    assert classify(text).category == "service_limitation"


def test_curly_apostrophes_read_like_plain_ones() -> None:
    # Given Bedrock's refusal, written with a typographic apostrophe as AWS prints it
    text = (
        "ValidationException: Invocation of model ID anthropic.claude-3-5-sonnet with on-demand throughput "
        "isn\u2019t supported. Retry your request with the ID or ARN of an inference profile."
    )
    # When it is classified
    # Then it reads as "isn't supported": the API does not offer it, a service limitation
    assert classify(text).category == "service_limitation"


def test_a_role_that_cannot_be_assumed_is_access_not_a_code_bug() -> None:
    # Given two ways deployment tools say a role's trust does not let them in
    texts = [
        "MainLambdaFunction - The role defined for the function cannot be assumed by Lambda.",
        "[ERROR]: !!! Unable to assume specified IAM Role. Please ensure the Trust Relationship is configured.",
    ]
    # When they are classified
    # Then both are service limitations (permissions), not retried
    assert [classify(t).category for t in texts] == ["service_limitation"] * 2


def test_an_http_429_inside_another_error_is_throttling() -> None:
    # Given a build that failed because a registry answered 429, and npm's fetch log of the same
    texts = [
        "ERROR: failed to solve: failed to copy: httpReadSeeker: unexpected status code https://ghcr.io/v2/x: "
        "429 Too Many Requests",
        "133 http fetch GET 429 https://registry.npmjs.org/codelyzer/-/codelyzer-5.2.1.tgz",
    ]
    # When they are classified
    # Then both are capacity (throttled, retried with back-off)
    assert [classify(t).category for t in texts] == ["capacity"] * 2


def test_an_unknown_flag_and_a_runner_exit_code_are_code_bugs() -> None:
    # Given a CLI refusing a flag and a GitLab runner reporting the script's exit code
    texts = ["unknown shorthand flag: 'e' in -e", "ERROR: Job failed: Process exited with: 1. Reason was: ()"]
    # When they are classified
    # Then both are code bugs
    assert [classify(t).category for t in texts] == ["code_bug"] * 2


def test_an_out_of_memory_error_with_a_framework_prefix_is_oom() -> None:
    # Given Ray's memory monitor, which names its exception with a CamelCase prefix
    texts = [
        "ray.memory_monitor.RayOutOfMemoryError: More than 95% of the memory on node ip-10-0-0-1 is used (58.1 GB).",
        "More than 95% of the memory on node gpu-1 is used (15.08 / 15.73 GB). The top 10 memory consumers are:",
    ]
    # When they are classified
    # Then both are OOM, not the generic named-exception code bug
    assert [classify(t).category for t in texts] == ["oom"] * 2


def test_missing_credentials_are_the_accounts_not_a_code_bug() -> None:
    # Given an SDK that found no credentials at all, and a registry push with no login
    texts = [
        "botocore.exceptions.NoCredentialsError: Unable to locate credentials",
        "NoCredentialProviders: no valid providers in chain. Deprecated.",
        "Image push failed Please login prior to push: Username: EOF",
    ]
    # When they are classified
    results = [classify(t, origin="api") for t in texts]
    # Then each is a service limitation of the account's scope: never an `unfeasible` verdict
    assert [r.category for r in results] == ["service_limitation"] * 3
    assert {r.failure_scope for r in results} == {"account"}


def test_a_node_declared_dead_for_missed_heartbeats_is_unknown_even_when_a_cause_is_guessed() -> None:
    # Given Ray's notice, which lists OOM only among what *can* cause it
    text = (
        "The node with node id: a5f8c09a and address: 10.132.0.6 has been marked dead because the detector has "
        "missed too many heartbeats from it. This can happen when a (1) raylet crashes unexpectedly (OOM, "
        "preempted node, etc.) (2) raylet has lagging heartbeats due to slow network or busy workload."
    )
    # When it is classified
    result = classify(text)
    # Then the hedged OOM is not evidence: a crash with no cause, retried once
    assert result.category == "unknown"
    assert result.retryable is True


@pytest.mark.parametrize(
    "text",
    [
        "runpod.error.QueryError: Something went wrong. Please try again later or contact support.",
        '"message":"The resource operation completed with terminal provisioning state \'Failed\'."',
        "Deployment failed. Correlation ID: 9f27. Operation failed with status: 200. Details: Resource state Failed",
        "Resource handler returned message: \"Error occurred during operation 'CREATE'.\" "
        "(RequestToken: 40af, HandlerErrorCode: GeneralServiceException)",
        "nvdd-Fatal-/opt/nvidia/hpc_sdk/compilers/bin/tools/nvvmd TERMINATED by signal 11",
        "httpx.HTTPStatusError: Server error '503 Service Unavailable' for url 'http://localhost:11434/api/generate'",
    ],
)
def test_failures_that_name_no_cause_are_unknown(text: str) -> None:
    # Given a service or tool that failed without saying why (an HTTP status is not an exit code)
    # When it is classified
    result = classify(text)
    # Then it is unknown, retried once, not a code bug or a stock-out
    assert result.category == "unknown"


def test_windows_command_not_found_a_failed_image_build_and_an_old_client_are_code_bugs() -> None:
    # Given PowerShell not finding a command, CodeBuild's image build summary, Jenkins' build step, and a
    # Docker client too old for the daemon
    texts = [
        "accelerate : The term 'accelerate' is not recognized as the name of a cmdlet, function, script file",
        "'nvcc' is not recognized as an internal or external command, operable program or batch file.",
        "Docker image build failed. Check build logs above. CodeBuild failed: Docker image build did not succeed",
        "Build step 'Invoke top-level Maven targets' marked build as failure",
        "ERROR: client version 1.22 is too old. Minimum supported API version is 1.24, please upgrade your client",
    ]
    # When they are classified
    # Then each is a code bug
    assert [classify(t).category for t in texts] == ["code_bug"] * len(texts)


def test_tensorrt_finding_no_implementation_for_a_layer_is_a_model_incompatibility() -> None:
    # Given TensorRT-LLM's engine build failing on a layer of the model
    text = (
        "[TRT] [E] 10: [optimizer.cpp::computeCosts::4048] Error Code 10: Internal Error (Could not find any "
        "implementation for node {ForeignNode[LLaMAForCausalLM/transformer/layers/0/input_layernorm]}.)"
    )
    # When it is classified
    # Then it is the model that cannot be built this way, not an inconclusive internal error
    assert classify(text).category == "model_incompatibility"


@pytest.mark.parametrize(
    "text",
    [
        "api error ValidationException: Platform identifier (notebook-al2-v1) is not supported for this service.",
        'Resource handler returned message: "The runtime parameter of nodejs12.x is no longer supported for '
        'creating or updating AWS Lambda functions. (Service: Lambda, Status Code: 400, Request ID: d611)"',
        "Invalid request provided: Inference Components are not supported in this Endpoint.",
        "Permission denied: artifactregistry.repositories.uploadArtifacts",
    ],
)
def test_a_cloud_api_refusing_what_it_does_not_offer_is_a_service_limitation(text: str) -> None:
    # Given a cloud API's own validation error saying it does not offer a feature, and a GCP IAM denial
    # When it is classified
    result = classify(text)
    # Then it is the service's restriction, not the model's incompatibility or a code bug
    assert (result.category, result.decided_by) == ("service_limitation", "rule")


@pytest.mark.parametrize(
    "text",
    [
        "ClientError: An error occurred (ValidationException) when calling the CreateTrainingJob operation: "
        "Instance type ml.c4.2xlarge is not supported by algorithm image-classification.",
        "ValidationException: LoRA adapters are not supported for model architecture GptBigCode.",
    ],
)
def test_a_validation_error_about_the_model_or_algorithm_is_not_read_as_the_apis_restriction(text: str) -> None:
    # Given a validation error whose "not supported" is about the model, its LoRA or the algorithm
    # When it is classified
    result = classify(text)
    # Then the cloud-API family does not claim it (the model rules, or the model, judge it)
    assert result.rule != "service.region_or_api"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "ValueError: Failed to find a kernel that can implement the WNA16 linear layer. Reasons: "
            "CutlassW4A8LinearKernel requires capability 90, current compute capability is 86",
            "model_incompatibility",
        ),
        (
            "Serialization assertion stdVersionRead == kSERIALIZATION_VERSION failed.Version tag does not match. "
            "Note: Current Version: 228, Serialized Engine Version: 237",
            "model_incompatibility",
        ),
        (
            "RuntimeError: Pretrained model is compiled with neuronx-cc(2.13.72.0) newer than current compiler "
            "(2.13.66.0), which may cause runtime incompatibilities.",
            "model_incompatibility",
        ),
        ("ValueError: Size mismatch between saved torch.Size([257152, 2048]) and current", "model_incompatibility"),
        (
            "[TensorRT-LLM][ERROR] Assertion failed: Invalid low_rank (1024). "
            "low_rank must be smaller than mMaxLowRank",
            "model_incompatibility",
        ),
        ('RuntimeError: nrt_load_collectives status=4 message="Allocation Failure"', "oom"),
    ],
)
def test_families_widened_by_revision_8(text: str, expected: str) -> None:
    # Given a kernel needing a newer GPU, engines compiled by another version, a checkpoint of another shape,
    # a LoRA rank over the engine's maximum, the Neuron runtime failing to allocate
    # When they are classified
    # Then each lands in its category, decided by a rule
    result = classify(text)
    assert (result.category, result.decided_by) == (expected, "rule")


def test_a_jvm_collection_for_allocation_failure_is_not_an_oom_rule_match() -> None:
    # Given a JVM's routine GC line, whose "(Allocation Failure)" is the collection's cause
    # When it is classified
    # Then the OOM allocation rule does not claim it
    assert classify("[GC (Allocation Failure)  2048K->512K(9728K), 0.0012 secs]").rule != "oom.alloc"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Container [pid=8788,containerID=container_1598507699008_0094_01_000010] is running beyond physical "
            "memory limits. Current usage: 9.8 GB of 9.8 GB physical memory used",
            "oom",
        ),
        ("[ExitStatus]: CONTAINER_VIRTUAL_MEMORY_EXCEEDED > [ExitCode]: -103", "oom"),
        ("llama_model_load: error loading model: unable to allocate backend buffer", "oom"),
        (
            "pod didn't trigger scale-up: 12 node(s) didn't match Pod's node affinity/selector, "
            "3 max node group size reached.",
            "service_limitation",
        ),
        ("HttpError: Bad credentials\n##[error]Bad credentials", "service_limitation"),
        ("error: You must be logged in to the server (Unauthorized)", "service_limitation"),
        ("API request failed with status 402", "service_limitation"),
        (
            "Error: AvailabilityZoneNotSupported - The zone(s) 2 for resource nodepool1 is not supported.",
            "service_limitation",
        ),
        (
            "FailedPrecondition: 400 The Cloud Storage bucket is in location `us`. "
            "It must be in the same regional location as the service.",
            "service_limitation",
        ),
        ("RuntimeError: bf16 precision was requested but not available on this hardware.", "model_incompatibility"),
        (
            "panic: runtime error: invalid memory address or nil pointer dereference "
            "[signal SIGSEGV: segmentation violation]",
            "code_bug",
        ),
        ("kfserving-controller-manager-0 1/2 CrashLoopBackOff 31 1h", "unknown"),
        ("{'error': 'Model deepset/roberta-base-squad2 is currently loading', 'estimated_time': 20.0}", "unknown"),
    ],
)
def test_families_widened_by_revision_9(text: str, expected: str) -> None:
    # Given YARN containers over their memory limit, llama.cpp failing to allocate a buffer, an autoscaler at a
    # node group's maximum, refused or unpaid credentials, a zone or location the service does not offer, bf16
    # on hardware without it, a Go runtime panic, a restart loop and a hosted model still loading
    # When they are classified
    result = classify(text)
    # Then each lands in its category, decided by a rule
    assert (result.category, result.decided_by) == (expected, "rule")


@pytest.mark.parametrize(
    ("text", "expected", "rule"),
    [
        # ---- revision 10 (waves 26-27)
        # no usable GPU: the host or container is wrong, nothing is known about the model on that GPU
        ("RuntimeError: Found no NVIDIA driver on your system.", "unknown", "unknown.gpu_unavailable"),
        ("RuntimeError: No CUDA GPUs are available", "unknown", "unknown.gpu_unavailable"),
        ("RuntimeError: CUDA error: uncorrectable ECC error encountered", "unknown", "unknown.gpu_unavailable"),
        # a cloud API refusing what it does not offer, in the contracted wording too
        (
            "An error occurred (ValidationException) when calling the CreateEndpoint operation: "
            "This endpoint type doesn't support serverless inference with GPUs.",
            "service_limitation",
            "service.region_or_api",
        ),
        (
            "An error occurred (ValidationException) when calling the Converse operation: "
            "The provided model doesn't support on-demand throughput.",
            "service_limitation",
            "service.region_or_api",
        ),
        # ... but what the model itself cannot do stays the model's
        (
            "An error occurred (ValidationException) when calling the Converse operation: "
            "This model doesn't support system messages.",
            "model_incompatibility",
            "model.engine_does_not_support",
        ),
        (
            "Invalid value for field 'resource.machineType': 'zones/europe-west4-b/machineTypes/a3-highgpu-8g'. "
            "Machine type with name 'a3-highgpu-8g' does not exist in zone 'europe-west4-b'.",
            "service_limitation",
            "service.region_or_api",
        ),
        ("Scheduling failure: not enough hardware capacity", "capacity", "capacity.insufficient"),
        ("500-InternalError, Out of host capacity.", "capacity", "capacity.insufficient"),
        (
            'ERROR: (gcloud.builds.submit) build 1f2e completed with status "TIMEOUT"\nscript returned exit code 1',
            "timeout",
            "timeout.timed_out",
        ),
        ("Error: Model server never became ready", "timeout", "timeout.health_check"),
        ("perf_analyzer took very long to exit, killing perf_analyzer", "timeout", "timeout.timed_out"),
        (
            "OSError: Can't load tokenizer for '/opt/ml/model'. Make sure that: '/opt/ml/model' is the correct path",
            "code_bug",
            "code.missing_artifact",
        ),
        (
            "ValueError: Can't find a valid checkpoint at /opt/ml/checkpoints/step-5",
            "code_bug",
            "code.missing_artifact",
        ),
        (
            "ClientError: InputConfiguration: Framework cannot load PyTorch model. Unsupported operator.",
            "model_incompatibility",
            "model.feature_unsupported",
        ),
        ("UnknownError: A valid user token is required", "service_limitation", "service.permission"),
        (
            "ERROR:torch.distributed.elastic.multiprocessing.api:failed (exitcode: 1) local_rank: 0 (pid: 4242)",
            "code_bug",
            "code.command_failed",
        ),
        # ---- revision 11 (wave 28)
        # a pod spec missing its toleration is the spec's fault; the scheduler's "preemption:" summary is no preemption
        (
            "0/2 nodes are available: 2 node(s) had untolerated taint {nvidia.com/gpu: present}. "
            "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
            "code_bug",
            "code.config_validation",
        ),
        # an image built for a newer CUDA than the host's driver
        ("CUDA driver version is insufficient for CUDA runtime version", "code_bug", "code.config_validation"),
        (
            "nvidia-container-cli: requirement error: unsatisfied condition: cuda>=12.8, please update your driver",
            "code_bug",
            "code.config_validation",
        ),
        (
            "torch.distributed.DistBackendError: NCCL error: invalid usage, ncclInvalidUsage",
            "code_bug",
            "code.config_validation",
        ),
        # no driver in the container runtime at all
        (
            "stderr: nvidia-container-cli: initialization error: nvml error: driver not loaded: unknown.",
            "unknown",
            "unknown.gpu_unavailable",
        ),
        # a torchrun child that crashed on SIGABRT names no cause
        (
            "ERROR:torch.distributed.elastic.multiprocessing.api:failed (exitcode: -6) local_rank: 0 (pid: 16)",
            "unknown",
            "unknown.inconclusive_crash",
        ),
        (
            "docker build -t app . \nCannot connect to the Docker daemon at unix:///var/run/docker.sock. "
            "Is the docker daemon running?",
            "unknown",
            "unknown.transient_network",
        ),
        (
            "ClientError: InputConfiguration: TVM cannot convert ONNX model.",
            "model_incompatibility",
            "model.feature_unsupported",
        ),
        (
            "An error occurred: Fn - Unzipped size must be smaller than 262144000 bytes",
            "service_limitation",
            "service.quota",
        ),
        (
            "    Last State:     Terminated\n      Reason:       Error\n      Exit Code:    1",
            "code_bug",
            "code.command_failed",
        ),
        # ---- revision 12 (wave 29)
        # a Kubernetes Job out of retries and a rollback with no reason name no cause (not a quota)
        (
            'message: Job has reached the specified backoff limit\nreason: BackoffLimitExceeded\nstatus: "True"',
            "unknown",
            "unknown.inconclusive_crash",
        ),
        (
            "Failed to execute change set. Current stack status: ROLLBACK_COMPLETE. Reason: No reason was provided.",
            "unknown",
            "unknown.inconclusive_crash",
        ),
        (
            "wandb.errors.CommError: Permission denied, ask the project owner to grant you access.",
            "service_limitation",
            "service.permission",
        ),
        # ggml's own assertion is the engine's bug; one about an unsupported model version is not claimed by it
        (
            "Error: 500 Internal Server Error: llama runner process has terminated: GGML_ASSERT(nb > 0) failed",
            "code_bug",
            "code.cuda_crash",
        ),
        (
            "ggml_allocr_alloc: not enough space in the buffer (needed 442368, largest block available 290848)\n"
            'GGML_ASSERT: ggml-alloc.c:148: !"not enough space in the buffer"',
            "oom",
            "oom.alloc",
        ),
        (
            "Message: No runtime found to support specified framework/version\nReason: NoSupportingRuntime",
            "model_incompatibility",
            "model.engine_does_not_support",
        ),
        (
            "    param = params_dict[name]\nKeyError: 'model.layers.0.self_attn.qkv'",
            "model_incompatibility",
            "model.checkpoint_mismatch",
        ),
    ],
)
def test_families_widened_by_revisions_10_to_12(text: str, expected: str, rule: str) -> None:
    # Given the families read from waves 26 to 29's misses: a missing or failed GPU, an API's contracted
    # "doesn't support", a machine type a zone does not offer, capacity worded as host/hardware, a build's TIMEOUT
    # status, paths transformers found nothing at, Neo refusing the model, a required token, torchrun children
    # that exited 1 or died on SIGABRT, a missing toleration, images newer than the host's driver, NCCL misuse,
    # no Docker daemon, Lambda's package size limit, kubectl's aligned exit code, a Job out of retries, a
    # rollback with no reason, ggml assertions, a runtime with no support for the format, unmatched weights
    # When they are classified
    result = classify(text)
    # Then each lands in its family, decided by the named rule
    assert (result.category, result.rule) == (expected, rule)


def test_a_torchrun_child_killed_by_sigkill_is_not_a_failed_command() -> None:
    # Given torchrun reporting a child killed by signal 9 (the kernel's OOM killer)
    result = classify("ERROR:torch.distributed.elastic.multiprocessing.api:failed (exitcode: -9) local_rank: 0")
    # Then the exit-code rule does not call it a code bug
    assert result.rule != "code.command_failed"


def test_insufficient_gpus_beside_a_taint_stay_capacity() -> None:
    # Given a scheduler that lacks GPUs on some nodes and finds taints on the others
    text = (
        "0/3 nodes are available: 1 Insufficient nvidia.com/gpu, 2 node(s) had untolerated taint "
        "{node-role.kubernetes.io/control-plane: }."
    )
    # Then it is still a lack of capacity
    assert classify(text).category == "capacity"


def test_a_ggml_assertion_about_an_unsupported_model_is_not_called_an_engine_bug() -> None:
    result = classify('GGML_ASSERT(false && "unsupported minicpmv version") failed')
    assert result.rule != "code.cuda_crash"
