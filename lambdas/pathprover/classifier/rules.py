"""The one copy of the failure-classification rules.

Every rule is a case-insensitive regular expression with explicit word (or
letter) boundaries, a category and a priority. The classifier collects *every*
rule that matches *every* line of a failure message and keeps the match with
the highest priority, so a cause found anywhere in the message beats a symptom:

====  =====================  ==========================================================
band  category               why it sits there
====  =====================  ==========================================================
100   oom                    a proven cause: CUDA OOM, OOM killer, KV cache cannot fit
 90   model_incompatibility  a proven cause: architecture/LoRA/GPU capability unsupported
                             (85: a named feature unsupported; 75: "does not support")
 80   service_limitation     quota beats capacity: ResourceLimitExceeded, VcpuLimitExceeded,
                             permissions, gated repos, region/API restrictions
 76   unknown                a full disk ("no space left on device") explains whatever
                             build step then fails: retried once
 70   code_bug (strong)      a named Python exception, template or argument error
                             (65: shell errors, CUDA crashes, invalid client requests)
 60   capacity               stock-outs and throttling (transient lack of service capacity)
 50   timeout                a stage ran out of time, health check never passed (symptoms)
 40   model_incompatibility  a generic "not supported" / "incompatible" / NotImplementedError
 35   unknown                transient network noise (ECONNRESET, "Retrying in 5 seconds")
                             and crashes that name no cause (NCCL error, segfault, "engine
                             died", InternalServerError): they beat the weak band
 30   code_bug (weak)        a command exited non-zero (not by a signal), or any other
                             named exception with a message ("FooError: ...")
====  =====================  ==========================================================

Two rules of different categories never share a priority (a unit test checks
it), so the outcome never depends on rule order; within a category, ties go to
the earlier line, then the earlier rule.

A match on a log line at INFO/DEBUG/WARNING level (or a Python ``...Warning:``)
counts a quarter of its priority, so it decides only when no real error line
matched anything. A match that follows a hedge in the same clause ("may",
"could", "if", "common causes include: ...") is a guess, not evidence, and is
skipped.

Deliberate decisions (see ``docs/classifier.md``):

* Throttling (``ThrottlingException``, ``Rate exceeded``, ``TooManyRequests``,
  ``SlowDown``, Docker Hub ``toomanyrequests``) is ``capacity``: a transient
  lack of service capacity, retryable.
* Quotas (``ResourceLimitExceeded``, "account-level service limit",
  ``VcpuLimitExceeded``) are ``service_limitation``: not retryable until a
  human raises the limit. So are permissions, gated Hugging Face repos and
  region/API restrictions.
* Exit code 137, ``Killed`` and ``SIGKILL`` are *not* proof of OOM: they end
  ``unknown``. ``"OOMKilled": false`` is explicitly not OOM.
* An exit code of 128 + N (or a negative status) is a signal, never "the
  command failed": a crash signal (139 SIGSEGV, 134 SIGABRT, ...) is an
  inconclusive crash (``unknown``), a kill signal (137/143/130) proves nothing.
* A ``multiline`` rule is matched against the whole message, for records a log
  viewer splits one field per line (a Lambda ``REPORT``).
* A named exception with a message (``KeyError: 'x'``, ``FooError: ...``) in
  serving, template or build output is ``code_bug`` unless a stronger cause
  (OOM, unsupported model, quota, throttling, timeout, network drop, a crash
  with no cause) is in the same message. Wrappers whose own message carries the
  cause (``ClientError``, ``ModelError``, ``UnexpectedStatusException``) are
  not counted as exceptions.
* A message no rule matches is ``unknown`` (retryable once).
"""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass
from typing import Final

from pathprover.core.records import FailureCategory
from pathprover.core.stage_table import STAGE_ORDER

CATEGORIES: Final[tuple[FailureCategory, ...]] = typing.get_args(FailureCategory)
"""In the guide's order; the one definition is the record's ``FailureCategory``."""

RETRYABLE: Final[dict[FailureCategory, bool]] = {
    "capacity": True,
    "timeout": True,
    "oom": False,
    "code_bug": False,
    "model_incompatibility": False,
    "service_limitation": False,
    # The brain retries an unknown failure at most once; it counts the retries.
    "unknown": True,
}

CATEGORY_HINTS: Final[dict[FailureCategory, str]] = {
    "capacity": "Transient lack of capacity or throttling: retry later (about 1h for a stock-out), "
    "or try another instance type or availability zone.",
    "timeout": "The stage ran out of time and no cause was found: retry with a longer timeout "
    "and check model start-up time against the health-check limit.",
    "oom": "Out of memory: the model does not fit this instance; use a larger instance, a higher "
    "tp_degree, quantization or a smaller max_model_len.",
    "code_bug": "A script, template or argument is wrong: fix the code or generated config, then prove again.",
    "model_incompatibility": "This model, engine and hardware combination is not supported: "
    "choose a supported engine, instance family, dtype or tp_degree.",
    "service_limitation": "An account quota, permission, region or API restriction: request a "
    "quota increase or access, or use another region or instance type.",
    "unknown": "Unrecognised failure: it is retried at most once; read the logs and add a rule if it recurs.",
}

STAGES: Final[tuple[str, ...]] = STAGE_ORDER
"""The Path Prover stages, from the one ``Stage`` type; ``stage`` is the pre-staging of model weights."""

STAGE_ALIASES: Final[dict[str, str]] = {
    "pre-staging": "stage",
    "prestaging": "stage",
    "pre_staging": "stage",
    "prestage": "stage",
    "staging": "stage",
    "cleanup": "clean",
    "teardown": "clean",
    "bench": "benchmark",
}

_FLAGS: Final[int] = re.IGNORECASE

# Priority bands (see the module docstring).
OOM: Final[int] = 100
MODEL: Final[int] = 90
SERVICE: Final[int] = 80
CODE_STRONG: Final[int] = 70
CAPACITY: Final[int] = 60
TIMEOUT: Final[int] = 50
GENERIC_UNSUPPORTED: Final[int] = 40
TRANSIENT: Final[int] = 35
DISK_FULL: Final[int] = 76
NOT_OOM_KILLED: Final[int] = 49
SCHEDULER: Final[int] = 101
RATE_LIMIT: Final[int] = 82
KILLED: Final[int] = 48
CODE_WEAK: Final[int] = 30

WEAK_LINE_DIVISOR: Final[int] = 4
"""A match on an INFO/DEBUG/WARNING line counts ``priority / WEAK_LINE_DIVISOR``."""


@dataclass(frozen=True)
class Rule:
    """One classification rule: a pattern, the category it proves and how strongly."""

    id: str
    category: FailureCategory
    priority: int
    pattern: re.Pattern[str]
    hint: str | None = None
    multiline: bool = False
    """Matched against the whole message (lines joined by newlines), for records a log viewer
    splits over several lines (a Lambda ``REPORT`` whose fields arrive one per line)."""


def _rule(
    rule_id: str,
    category: FailureCategory,
    priority: int,
    regex: str,
    hint: str | None = None,
    *,
    multiline: bool = False,
) -> Rule:
    return Rule(rule_id, category, priority, re.compile(regex, _FLAGS), hint, multiline)


# A non-zero exit that is not a signal: 128 + N is "killed by signal N" (137 = SIGKILL,
# 143 = SIGTERM, 130 = SIGINT, 139 = SIGSEGV, 134 = SIGABRT, ...), and a negative status is
# how Python's subprocess reports a signal (-9, -11). An HTTP status (200-209, 300-309, 400-429,
# 500-509: "Operation failed with status: 200") is not an exit code either.
_NONZERO_NOT_SIGNAL: Final[str] = r"(?<!-)(?!0\b|129\b|1[3-5]\d\b|[2-5]0\d\b|4[12]\d\b)\d{1,3}\b"

# An exit by a crash signal (SIGSEGV 139/-11, SIGABRT 134/-6, SIGILL 132/-4, SIGBUS 135/-7,
# SIGFPE 136/-8): the process crashed without naming a cause. SIGKILL/SIGTERM/SIGINT
# (137/143/130) are left out on purpose: they are how a timeout or OOM killer ends a process.
_CRASH_SIGNAL_EXIT: Final[str] = (
    r"\b(?:exit(?:ed)?(?: with)?|returned(?: a)?(?: non-zero)?|failed with)\s+"
    r"(?:(?:exit|error|return|non-zero)\s+)?(?:code|status)\W{0,3}(?:(?!137\b)(?:129|1[3-5]\d)|-(?:11|1[35]|[4678]))\b"
)

RULES: Final[tuple[Rule, ...]] = (
    # ------------------------------------------------------------------ oom
    _rule("oom.cuda", "oom", OOM, r"\bCUDA (?:error: )?out of memory\b"),
    _rule(
        "oom.out_of_memory_error",
        "oom",
        OOM,
        # Also with a CamelCase prefix: Ray's `RayOutOfMemoryError`, `TrainingJobOutOfMemoryException`.
        r"(?<![A-Za-z])OutOfMemory(?:Error|Exception)?(?![a-z])|(?<=[a-z])OutOfMemory(?:Error|Exception)\b"
        r"|\bMore than \d+% of the memory on node\b",
    ),
    _rule("oom.out_of_memory", "oom", OOM - 2, r"\bout[ -]of[ -]memory\b"),
    # `"OOMKilled": false` (docker inspect) is explicitly *not* an OOM.
    _rule("oom.killed", "oom", OOM, r"\bOOM[ _-]?Killed\b(?!\W{0,3}(?:false|no|0)\b)"),
    _rule("oom.killer", "oom", OOM, r"\boom[ _-]?killer\b|\boom[_-]kill\b|\bKilled process \d+\b"),
    _rule("oom.word", "oom", OOM - 5, r"(?<![A-Za-z])OOM(?![A-Za-z])"),
    _rule("oom.python_memory_error", "oom", OOM - 5, r"\bMemoryError\b(?::|\s*$)"),
    _rule(
        "oom.alloc",
        "oom",
        OOM - 5,
        r"\bCannot allocate memory\b|std::bad_alloc|\bCUBLAS_STATUS_ALLOC_FAILED\b"
        r"|\bcudaErrorMemoryAllocation\b|\bfailed to allocate (?:\d+(?:\.\d+)? ?[KMGT]i?B\b|memory\b)"
        r"|\bRESOURCE_EXHAUSTED: (?:Failed to allocate|Out of memory)\b|\bnot enough space in the buffer\b"
        # The Neuron runtime's "nrt_load_collectives status=4 message="Allocation Failure"" (not a JVM's
        # "GC (Allocation Failure)", which is a collection's cause, logged at INFO).
        r"|(?<!\()\bAllocation Failure\b(?!\))",
    ),
    _rule(
        "oom.not_enough_memory",
        "oom",
        OOM - 5,
        r"\b(?:not enough|insufficient|no available) (?:GPU |device |host |CPU )?memory\b",
    ),
    _rule(
        "oom.kv_cache",
        "oom",
        OOM,
        r"\bmaximum number of tokens that can be stored in KV cache\b"
        r"|\bKV cache is needed, which is larger than the available KV cache memory\b"
        r"|\bNo available memory for the cache blocks\b",
        hint="The KV cache does not fit: use a larger instance or higher tp_degree, or lower max_model_len.",
    ),
    _rule(
        "oom.free_memory",
        "oom",
        OOM - 5,
        r"\bFree memory on device\b.{0,80}\b(?:less than desired GPU memory utilization|on startup is less than)\b"
        r"|\bRequested amount of GPU memory\b.{0,60}\bcould not be allocated\b"
        r"|\bbytes of scratch space, but only \d+ is available\b",
    ),
    _rule(
        "oom.memory_limit",
        "oom",
        OOM - 5,
        r"\bmemory limit (?:exceeded|reached)\b|\bexceeded (?:the )?memory limit\b"
        r"|\bRuntime\.OutOfMemory\b|\bexceeds (?:the )?(?:available |total )?(?:GPU |device |HBM |host )?memory\b"
        r"|\bHBM usage\b.{0,40}\bexceeds\b|\bwith more (?:GPU |device |accelerator )?memory\b"
        r"|\bSystem out of memory\b|\brequires more (?:system |GPU |host |device )?memory\b"
        r"|\bmore (?:system |GPU )?memory\b.{0,40}\bthan (?:is )?available\b"
        # YARN / Hadoop containers over their memory limit; llama.cpp failing to allocate its buffers.
        r"|\brunning beyond (?:physical|virtual) memory limits?\b|\bCONTAINER_(?:VIRTUAL|PHYSICAL)_MEMORY_EXCEEDED\b"
        r"|\bunable to allocate (?:\w+ )?buffer\b",
    ),
    _rule(
        "oom.lambda_report",
        "oom",
        OOM - 5,
        r"\bMemory Size:\s*(\d+)\s*MB\s+Max Memory Used:\s*\1\s*MB\b",
        hint="The Lambda used all of its configured memory: raise MemorySize.",
        multiline=True,
    ),
    # The kernel's SIGKILL with no other cause stated: the guide's "killed by memory". A timeout
    # (priority 50) or an explicit `"OOMKilled": false` (49) in the same message wins.
    _rule(
        "oom.kernel_kill",
        "oom",
        KILLED,
        r"(?:^|\|\s*|:\s*|\d\s+|\]\s*)[*_]*Killed\b(?!\s+by\s+(?:the\s+)?(?:user|operator|admin|request|client))"
        r"|\bkilled by signal(?::? (?:Killed|9|SIGKILL)\b|\s*\.?\s*$)|\bsignal: killed\b|\bSIGKILL\b|\bsignal 9\b"
        r"|\bkill -9\b|\bReceived \"killed\" signal\b|\bsignal \"SIGKILL\"|\bkilled due to memory pressure\b"
        r"|\b(?:exit(?:ed)?(?: with)?|returned|failed with|terminated with)\s+(?:a\s+)?"
        r"(?:(?:exit|error|return|non-zero)\s+)?"
        r"(?:code|status)\W{0,3}137\b|\bExit ?Code\W{0,4}137\b|\bexit(?: |_)?code\W{0,4}-9\b|\bstatus:? -9\b"
        r"|\bexited with 137\b|\breturn code = -9\b|\blow on resource: memory\b|\bdied \(-9\)"
        r"|\bcode 137\b|\b137 \(SIGKILL\)|\bkilled due to memory\b|\bkilled by (?:the )?(?:memory|kernel)\b"
        r"|(?:^|\s)已杀死",  # bash's "Killed" in a Chinese locale
        hint="The process was killed by the kernel (SIGKILL, exit 137): almost always memory; use a larger "
        "instance, a higher tp_degree, quantization or a smaller max_model_len.",
    ),
    _rule(
        "unknown.not_oom_killed",
        "unknown",
        NOT_OOM_KILLED,
        r"\bOOMKilled\W{0,4}false\b|\breceived a shutdown signal\b|\bThe operation was cancell?ed\b"
        r"|\bwas (?:stopped|cancell?ed) by (?:the )?(?:user|operator|admin)\b"
        r"|\bkilled by (?:the )?(?:user|operator|admin)\b|\bWorker unexpectedly exits\b"
        # A job someone stopped (CodeBuild STOPPED, a SageMaker job or endpoint "was Stopped").
        r"|\b(?:build|training job|transform job|endpoint) was stopped\b|\bSTOPPED \(phase\b|\bphase [A-Z_]+ STOPPED\b"
        r"|\bA worker died or was killed\b",
        hint="Killed, but the runtime says not by the OOM killer: retried once; read the container logs.",
    ),
    # ------------------------------------------------- model_incompatibility
    _rule(
        "model.architecture_unsupported",
        "model_incompatibility",
        MODEL,
        r"\barchitectures?\b.{0,300}?\b(?:are|is) not supported\b"
        r"|\bUnsupported (?:model )?architectures?\b"
        r"|\bdoes not recognize this architecture\b"
        r"|\bUnsupported model(?: type)?\b"
        r"|\bmodel type\b.{0,80}?\bis not supported\b"
        r"|\bis not supported by (?:vLLM|SGLang|TGI|TensorRT(?:-LLM)?|TRT-LLM|this engine)\b"
        r"|\bUnrecognized configuration class\b|\b(?:CONFIG|TOKENIZER)_MAPPING\[|\bwrong architecture\b"
        r"|\bpurely quantized models?\b|\b(?:custom model )?not yet available in the (?:HuggingFace )?transformers\b"
        r"|\bcheckpoint you are trying to load has model type\b|\brequires a newer version of\b|\bUnrecognized model\b"
        r"|\bmaximum supported version\b|\bNo operations were successfully partitioned\b"
        r"|\bCould not find any implementation for node\b"
        # A model loader that cannot read this model: remote code, no chat template, a config
        # written for a newer library (rope_scaling in the new format), an unknown model_type.
        r"|\bcontains custom code which must be executed\b|\btrust_remote_code\b"
        r"|\brequires you to execute the (?:configuration|modeling) file\b"
        r"|\bchat_template is not set\b|\bno chat template\b|\bdefault chat template is no longer allowed\b"
        r"|\bdoes not have a chat template\b|\bCannot use chat template\b"
        r"|`?rope_scaling`? must be a dictionary\b|\bUnrecognized keys? in `?rope_scaling\b"
        r"|\brope_scaling\b.{0,80}?\b(?:invalid|unsupported|Unrecognized|must|should)\b"
        r"|\bKeyError: '[a-z0-9_]+'.{0,200}?\b(?:CONFIG_MAPPING|model_type|configuration_auto)\b"
        # An Auto* class with no model for this config class: "KeyError: <class '...FalconConfig'>".
        r"|\bKeyError: <class '[\w.]*configuration_\w+\.\w+Config'>"
        r"|\bmodel_type\b.{0,120}?\b(?:not recognized|unrecognized|unknown|KeyError)\b"
        r"|\bUnrecognized model in\b|\bShould have a `model_type` key\b|\bunknown (?:model )?architecture\b"
        r"|\brope_scaling\s*\[\s*[\"']\w+[\"']\s*\]"
        r"|\bCould not load model \S+ with any of the following classes\b|\boperators? (?:are|is) not implemented\b"
        r"|\bmax_model_len\b.{0,40}\bis greater than the derived max_model_len\b"
        r"|\bis greater than the model's maximum\b|\bexceeds the model's maximum (?:length|sequence length)\b"
        # A KeyError on a model family's name is the config loader not knowing the model type.
        r"|\bKeyError: '(?:[a-z0-9]+[_-])*(?:llama\d*|qwen\w*|mistral|mixtral|gemma\d*|phi\d*|falcon|gpt\w*|deepseek\w*"
        r"|chatglm\w*|glm\d*\w*|baichuan\w*|internlm\w*|olmo\w*|starcoder\w*|bloom|mpt|roberta|distil\w*|bert|t5"
        r"|bart|whisper|llava\w*|idefics\d*|pixtral|granite\w*|cohere\d*|dbrx|jamba|mamba\d*|exaone\w*|minicpm\w*"
        r"|kimi\w*|ernie\w*|hunyuan\w*|pangu\w*|nemotron\w*|arctic|stablelm|gptj|gpt_neox|codegen|smollm\d*|yi"
        r"|aquila|xverse|orion|persimmon|fuyu|mllama|siglip|paligemma|seed_oss|step\d*|minimax\w*)(?:[_-]\w+)?'"
        r"|\bonly supported (?:for|on|with)\s+(?:the\s+following\s+)?(?:architectures|models|GPUs)\b",
    ),
    _rule(
        "model.lora_unsupported",
        "model_incompatibility",
        MODEL,
        r"\bdoes not support LoRA\b|\bLoRA (?:is )?not (?:yet )?supported\b|\bunsupported LoRA\b"
        r"|\bnot support(?:ed)? (?:for |with )?LoRA\b"
        r"|\bLoRA rank\b.{0,40}\b(?:is greater than|exceeds|larger than|must be (?:less|smaller|at most))\b"
        r"|\bexceeds (?:the )?max(?:imum)? LoRA rank\b|\blow_rank must be smaller than\b"
        r"|\bexpected target modules\b|\btarget modules?\b.{0,60}?\bnot (?:yet )?(?:supported|found)\b",
        hint="The engine cannot serve LoRA adapters for this model: merge the adapter or use another engine.",
    ),
    _rule(
        "model.gpu_capability",
        "model_incompatibility",
        MODEL,
        r"\bcompute capability (?:of at least|below|lower than|>=?|less than)\b"
        r"|\bnot supported (?:for|on) the current GPU\b"
        r"|\bMin(?:imum)? capability: ?\d+\b"
        r"|\bonly supports? (?:Ampere|Hopper|Ada|Turing|Volta)\b"
        r"|\bno kernel image is available for execution on the device\b"
        r"|\bCUDA error: invalid device function\b"
        r"|\bkernel image is invalid\b|\bGPU with CUDA capability \d+ \d+ is not supported\b"
        r"|\bis_sm\d+\b|\bsm_?\d{2,3}\b[^.\n]{0,30}?\b(?:or (?:higher|newer|above)|is required|not supported)\b"
        r"|\bonly supported on (?:SM ?\d{2,3}|sm_\d{2,3}|GPUs\b|devices with compute capability)"
        r"|\bcompute capability\s*(?:>=?\s*)?\d+(?:\.\d+)? or (?:higher|newer|above|later)\b"
        r"|\bcompute capability \d+(?:\.\d+)?\+? (?:is )?required\b"
        r"|\b(?:bf16|bfloat16|fp8|fp16)\b[^.\n]{0,60}?\bnot available on this hardware\b"
        r"|\brequires capability \d+, current compute capability\b|\bFailed to find a kernel that can implement\b"
        r"|\brequires? (?:an? )?(?:A100|H100|H200|B200|Ampere|Hopper|Ada|Blackwell|Turing)\b[\w ]{0,20}?\bGPUs?\b",
        hint="The GPU of this instance family cannot run this model/dtype/quantization: use a "
        "newer GPU family or another dtype.",
    ),
    _rule(
        "model.feature_unsupported",
        "model_incompatibility",
        MODEL - 5,
        r"\b(?:sharded|sharding|tensor[ -]parallel(?:ism)?|pipeline[ -]parallel(?:ism)?|quantization"
        r"|flash[ -]?attention(?: ?2)?|bfloat16|bf16|fp8|awq|gptq|speculative decoding|prefix caching)\b"
        r"[^.]{0,60}?\b(?:is |are )?not (?:yet )?supported\b"
        r"|\brequires? (?:a )?(?:Flash ?Attention|Ampere|Hopper|Ada|newer GPU|GPUs? with)\b"
        r"|\bUnknown quantization method\b"
        r"|\bonly supports (?:Ampere|Hopper|Ada|Turing|Volta) GPUs\b"
        # SageMaker Neo's compilation job refusing the model itself.
        r"|\bInputConfiguration: (?:Incompatible|Unsupported"
        r"|(?:\w+ )?(?:cannot|can't|unable to|failed to) (?:load|convert|parse))\b",
        hint="The engine does not support this feature for this model: change the serving option "
        "(tp_degree, quantization, dtype) or the engine.",
    ),
    _rule(
        "model.engine_does_not_support",
        "model_incompatibility",
        MODEL - 15,
        r"\b(?:does not|doesn't|do not|cannot) support\b(?!.{0,40}\b(?:region|availability zone)\b)"
        r"|\b(?:doesn't|does not) have a tokenizer\b|\bno tokenizer (?:found|available)\b"
        r"|\bNo runtime found to support\b|\bNoSupportingRuntime\b",
        hint="The engine cannot run this model with these options: change the option or the engine.",
    ),
    _rule(
        "model.checkpoint_mismatch",
        "model_incompatibility",
        MODEL,
        r"\bKeyError: '[^']*\b(?:weight|bias|g_idx|qweight|qzeros|scales?|weight_scale|absmax|lora_[AB])\b[^']*'"
        r"|\b(?:Missing|Unexpected) key\(s\) in state_dict\b|\bsize mismatch for \S+\b"
        r"|\bweight \S+ does not exist\b|\b(?:Required but not provided|missing|unexpected) tensors?\b"
        r"|\bSize mismatch between saved\b|\bparams_dict\[name\]"
        # A compiled engine or model built by another version than the runtime (TensorRT, Neuron).
        r"|\bSerialized Engine Version\b|\bVersion tag does not match\b"
        r"|\bcompiled with \S+ newer than (?:the )?current compiler\b",
        hint="The checkpoint's weights do not match the engine's model implementation: use a "
        "checkpoint format/quantization this engine version loads, or another engine.",
    ),
    _rule(
        "model.tp_divisibility",
        "model_incompatibility",
        MODEL,
        r"\bmust be divisible by (?:the )?(?:tensor parallel size|tp[_ ]size|mp_size)\b"
        r"|\bnot divisible by (?:the )?(?:tensor parallel|number of tensor parallelism|tp)\b"
        r"|\b(?:attention heads|num_heads|num_kv_heads|heads)\b.{0,60}\bdivisible by\b"
        r"|\bdivisible by\b.{0,40}\b(?:tensor parallel\w*|tp|num_shards|shards|mp_size|world size|ep_size"
        r"|expert parallel\w*|pipeline parallel\w*|pp_size)\b",
        hint="The tp_degree does not divide the model's attention heads: use another tp_degree.",
    ),
    _rule(
        "model.generic_unsupported",
        "model_incompatibility",
        GENERIC_UNSUPPORTED,
        r"\b(?:is|are) not (?:yet )?supported\b|\b(?:isn't|aren't) (?:yet )?supported\b|\bnot supported\b"
        r"|\bonly supports?\b"
        r"|\bunsupported\b|\bUnknown quantization(?: method)?\b|\bno longer supported\b"
        r"|\bnot compatible with\b|\bincompatible\b"
        r"|(?<![A-Za-z])NotImplementedError(?::|\s*$)|\bFailed to load the tokenizer\b"
        r"|\bis not divisible by\b|\bLoading lora\b.{0,300}?\bfailed\b",
        hint="Something in this model/engine/hardware combination is not supported: read the line "
        "and change the option, engine or instance family.",
    ),
    # ------------------------------------------------------ service_limitation
    _rule(
        "service.quota",
        "service_limitation",
        SERVICE,
        r"\b(?:ResourceLimitExceeded|VcpuLimitExceeded|LimitExceededException|AccountLimitExceeded\w*"
        r"|ServiceQuotaExceeded\w*|QuotaExceeded\w*|InstanceLimitExceeded)\b"
        r"|\b(?!(?:Request|Rate|CallerRate|Throughput|Backoff)LimitExceeded)[A-Za-z0-9]+(?:Limit|Count|Quota|Storage)Exceeded\w*\b"
        r"|\b[A-Za-z0-9]+LimitReached\w*\b|\bInsufficientFreeAddressesInSubnet\b"
        r"|\b(?:max(?:imum)?|instance|spot|vcpu)\b[\w ]{0,30}?\b(?:count|limit) (?:was |has been )?exceeded\b"
        r"|\baccount-level service limit\b|\bservice limits? (?:were |was |is )?exceeded\b"
        r"|\bquota (?:has been |was )?exceeded\b|\bexceeded (?:your|the) (?:\w+ )?quota\b|\bexceeding (?:the )?quota\b"
        r"|\bInsufficientQuota\b|\bexceeds the allowed maximum\b|\bexceeded the limit for the number of\b"
        r"|\brequest an (?:increase|adjustment) (?:for|to) this limit\b"
        # The cluster autoscaler at a node group's configured maximum (a limit, not a stock-out).
        r"|\bmax node group size reached\b|\bmax size reached\b|\bUnzipped size must be smaller than\b"
        r"|\bcannot have more than \d+\b.{0,80}?\b(?:for|per|in) (?:the |this |your )?account\b"
        r"|\bquotas?\b",
        hint="An account quota is exhausted: request a Service Quotas increase, then prove again.",
    ),
    _rule(
        "service.permission",
        "service_limitation",
        SERVICE,
        r"\b\w*AccessDenied\w*\b|\bnot authorized to perform\b|\bUnauthorizedOperation\b"
        r"|\bExpiredToken\w*\b|\bInvalidClientTokenId\b|\bUnrecognizedClientException\b"
        r"|\bsecurity token included in the request is (?:expired|invalid)\b|\bPendingVerification\b"
        r"|\bauthentication (?:required|failed)\b|\bno basic auth credentials\b"
        r"|\bcannot be assumed\b|\bUnable to assume (?:the )?(?:specified )?(?:IAM )?role\b"
        r"|\bnot authorized to assume\b"
        r"|\bexplicit deny\b|\bOptInRequired\b|\bCheck (?:your |the )?(?:account |AWS )?credentials\b"
        r"|\bdenied: requested access to the resource is denied\b|\bPERMISSION_DENIED\b|\bPermissionDenied\b"
        r"|\bPermission '[\w.]+' denied\b|\b403 Permission denied\b|\bInvalidAccessKeyId\b"
        # GCP IAM: "Permission denied: artifactregistry.repositories.uploadArtifacts" (a service.resource.verb).
        r"|\bPermission denied:? '?[a-z]+\.[a-zA-Z]+\.[a-zA-Z]+\b"
        r"|\bResource not accessible by integration\b|\bAPI (?:is )?not enabled\b|\bAPI has not been used in project\b"
        r"|\bnot enabled for (?:the |this |your )?(?:project|account|subscription)\b"
        r"|\brequires (?:more credits|a \w+ subscription)\b|\binsufficient (?:credits|balance|funds)\b"
        r"|\bhas(?: not)? been purchased\b|\bparallelism grant\b|\busage limits?\b|\busage (?:has )?reached\b"
        r"|\bdenied: denied\b|\bInvalid (?:user |access |auth(?:entication)? )?token\b"
        r"|\ba valid (?:user |access |auth(?:entication)? |API )?token is required\b"
        r"|\bask the (?:project |repository |org(?:anization)? )?(?:owner|admin\w*) to grant you access\b"
        r"|\bdoes not grant\b.{0,120}?\bpermissions?\b|\bAuthorizationFailed\b|\bdoes not have authorization to\b"
        r"|\binsufficient authentication scopes\b|\bPermissionDeniedError\b|\b(?:don't|do not) have access to\b"
        r"|\bspending limit\b|\bused all (?:available|of your) credits\b|\bNo more (?:CI )?minutes\b"
        r"|\bMore credits are required\b|\bnot subscribed to\b|\bAuthentication Error\b"
        r"|\bSKUs?\b.{0,80}\bare restricted\b"
        # Credentials refused, however the client words it: an SDK's AuthenticationError, a 401 in an
        # "Error code: 401" / "(HTTP code 401)" wrapper, a registry's "unauthorized: incorrect username
        # or password", an API key that is missing or invalid.
        r"|(?<![A-Za-z])Authentication_?Error\b|\bauthentication_error\b|\bunauthorized: \w"
        r"|\bincorrect username or password\b|\b(?:Incorrect|invalid|missing) (?:x-)?API[ _-]?key\b"
        r"|\bAPI[ _-]?key (?:is )?(?:required|invalid|not valid|expired)\b|\bUnable to authenticate\b"
        r"|\b(?:Error|HTTP|status) code:? 401\b|\bpull access denied\b|\bmay require '?docker login\b"
        r"|\b(?:do not|don't|does not) have (?:the )?(?:required )?(?:`[^`]{1,80}` )?(?:IAM )?permission"
        # A plan's or account's limit on concurrent builds/jobs, and a licence not yet accepted.
        r"|\bconcurrency limit (?:reached|exceeded)\b|\blimit reached for (?:your|the|this) account\b"
        r"|\baccept(?:ing)? (?:the )?(?:end-user license agreement|EULA)\b|\baccept_eula\b"
        # git asking for credentials it was never given (a CI checkout of a private repository).
        r"|\bcould not read (?:Username|Password) for\b"
        # No credentials at all: boto3's NoCredentialsError, the Go SDK's NoCredentialProviders, gcloud's ADC.
        r"|\bNoCredentials?(?:Error|Providers)\b|\bUnable to locate credentials\b"
        r"|\bcould not find default credentials\b|\b(?:Please )?log ?in prior to (?:push|pull)\b"
        # GitHub's "Bad credentials", Kubernetes' "(Unauthorized)", a 402 "Payment Required".
        r"|\bBad credentials\b|\(Unauthorized\)|: Unauthorized\s*$|\bPayment Required\b"
        r"|\b(?:status|HTTP|code)[\s:=(]*402\b",
        hint="A permission is missing or denied by policy: grant it, then prove again.",
    ),
    _rule(
        "service.gated_model",
        "service_limitation",
        SERVICE,
        r"\bgated repo\b|\bGatedRepoError\b|\bAccess to model \S+ is restricted\b"
        r"|\b40[13] Client Error\b|\bUnauthorized for url\b|\b403 Forbidden\b|\bForbidden\b"
        r"|\b401 Unauthorized\b|\bfailed to authorize\b"
        r"|\b(?:status(?:_code)?|HTTP(?: status)?)[\s:=(]*40[13]\b",
        hint="The Hugging Face model is gated or private: accept its licence and provide a token with access.",
    ),
    _rule(
        "service.region_or_api",
        "service_limitation",
        SERVICE,
        r"\bnot (?:supported|available) in (?:this|the|your|the called|the current) region\b"
        r"|\bis not available in\b[^.\n]{0,40}\b(?:region|zone)\b"
        r"|\bUnknownOperationException\b|\bCross[- ]region\b.{0,80}?\bnot allowed\b"
        r"|\binstance type\b.{0,80}?\b(?:is )?not (?:supported|available)\b(?! by (?:the )?(?:algorithm|model)\b)"
        r"|\binvalid InstanceType value\b|\bUnsupported instance type\b"
        r"|\bis not supported for (?:machine|instance) type\b"
        r"|\bat '[\w.]*instanceType' failed to satisfy constraint\b"
        r"|\binstance_?type\b[^.\n]{0,40}?\bto be one of\b|\binstance_?type\b.{0,120}?\bmust satisfy enum value set\b"
        r"|\bgreater than (?:the )?(?:maximum )?supported (?:size|limit)\b"
        r"|\bexceeds (?:the )?maximum (?:supported|allowed) (?:size|limit)\b"
        r"|\b(?:region|API)(?:/(?:region|API))? restrictions?\b"
        r"|\b(?:SageMaker|Amazon|AWS|EC2|Lambda|CodeBuild|Bedrock|ECR|S3)\b[\w ]{0,30}?"
        r"\b(?:currently )?(?:does not|doesn't|do not|don't) (?:yet )?support\b"
        r"|\b(?:features? )?(?:are|is) not supported using this configuration\b"
        r"|\(Unsupported\) when calling\b|\bUnsupported(?:Operation)?\s?(?::|-|=>) |\bError Code: Unsupported\b"
        r"|\brequested configuration is currently not supported\b"
        r"|\bis only supported for\b|\bwith on-demand throughput (?:isn't|is not) supported\b"
        r"|\b(?:doesn't|does not) support on-demand throughput\b"
        # A scheduler's catalog that offers nothing matching the request (SkyPilot, dstack).
        r"|\bNo resource satisfying\b|\bCatalog does not contain any instances? satisfying\b"
        r"|\b\w*ZoneNotSupported\b|\bsupported zones for location\b"
        r"|\bmust be in the same region(?:al location)?\b"
        r"|\b(?:machine|instance) type\b.{0,120}?\bdoes not exist in (?:the )?zone\b"
        # A cloud API refusing a request because it does not offer the feature (not a model's LoRA,
        # dtype, …): "not supported" inside the API's own validation error (AWS ValidationException,
        # "Status Code: 400", GCP "HttpError 400", "Invalid request provided"), or said of the service,
        # the endpoint or a retired runtime.
        r"|\b(?:ValidationException|InvalidParameter\w*|Invalid request provided|HttpError 400"
        r"|Status ?Code:? 400)\b(?:(?!LoRA|adapter|architecture|quantiz|dtype|model type|algorithm).){0,300}?"
        r"\b(?:(?:is|are) not supported|no longer supported|do(?:es)? not support"
        r"|(?<!model )(?:doesn't|don't) support)\b"
        r"(?! by (?:the )?(?:algorithm|model)\b)"
        r"|\b(?:is|are) not supported\b.{0,200}?\((?:Service: \w+|[^)]{0,40}Status Code: 400)"
        r"|\bnot supported (?:for|by) this (?:service|endpoint|account|region)\b"
        r"|\bis no longer supported for creating or updating\b|\bnot supported in this Endpoint\b",
        hint="The region or API does not offer this option: use another region, instance type "
        "or endpoint configuration.",
    ),
    # --------------------------------------------------------- code_bug (strong)
    _rule(
        "code.python_exception",
        "code_bug",
        CODE_STRONG,
        r"(?<![A-Za-z])(?:SyntaxError|IndentationError|TabError|NameError|UnboundLocalError"
        r"|TypeError|AttributeError|ImportError|ModuleNotFoundError|KeyError|IndexError"
        r"|ZeroDivisionError|FileNotFoundError|RecursionError|JSONDecodeError)(?::|\s*$)"
        r"|\bjava\.\S*(?:FileNotFoundException|NullPointerException|ClassNotFoundException"
        r"|NoSuchMethodError|NoClassDefFoundError)\b"
        r"|\bobject has no attribute\b|\breferenced before assignment\b|\bgot an unexpected keyword argument\b"
        r"|\btakes \d+ positional arguments? but \d+ (?:was|were) given\b|\bmissing \d+ required positional\b"
        r"|\bobject is not (?:subscriptable|callable|iterable)\b|\bcannot import name\b"
        r"|\bname '[\w.]+' is not defined\b|\bunsupported operand type\b"
        # The message CPython gives a TypeError/ValueError, quoted without its class.
        r"|\bcan only concatenate \w+ \(not \W?\w+\W?\) to \w+\b|\b(?:list|string|tuple) indices must be\b"
        r"|\bargument of type '\w+' is not iterable\b|\b(?:not enough|too many) values to unpack\b"
        r"|\bgot multiple values for (?:keyword )?argument\b|\binvalid literal for int\(\) with base\b"
        r"|\bcould not convert string to float\b|\bmissing \d+ required (?:keyword-only )?argument\b"
        r"|\bmust be (?:str|int|float|bytes|a \w+|an \w+), not \w+\b|\b(?:list|string|tuple) index out of range\b"
        r"|\bsyntax error while parsing\b",
    ),
    _rule(
        "code.template",
        "code_bug",
        CODE_STRONG,
        r"\b(?:TemplateSyntaxError|UndefinedError|TemplateNotFound|TemplateError|TemplateRuntimeError)\b"
        r"|\btemplate error\b|\bscript crash(?:ed)?\b|\bError: template: |\btemplate: \S+:\d+(?::\d+)?: "
        r"|\bTemplate format error\b|\berror converting YAML to JSON\b|\bAnsibleUndefinedVariable\b"
        r"|\berror while templating\b|\bInvalid template interpolation\b|\bCall to function \"templatefile\" failed\b"
        r"|\b(?:failed to render|render(?:ing)? (?:error|failed))\b|\bUnresolved resource dependencies\b"
        r"|\bnil pointer evaluating\b|\bexecuting \"[^\"]+\" at <|\bmapping values are not allowed\b"
        r"|\bfound character that cannot start any token\b|\bYAMLException\b|\bInvalid template\b"
        r"|\bError: Invalid (?:reference|expression|function argument|value for (?:input )?variable)\b"
        r"|\bError: Unsupported (?:argument|attribute|block type)\b|\baccumulating resources\b"
        r"|\bJinja (?:Exception|error)\b|\bError: Incorrect attribute value type\b|\bUndefined variables?\b"
        r"|\bparse error at\b"
        r"|\bDockerfile parse error\b|\bunknown instruction\b|\b(?:COPY|ADD) failed\b"
        r"|\bfailed to compute cache key\b|\bfailed to (?:read|parse) dockerfile\b"
        r"|\bnvcc fatal\b",
        hint="A generated template or Dockerfile is invalid: fix the generator.",
    ),
    _rule(
        "code.model_id",
        "code_bug",
        CODE_STRONG,
        r"\b(?:RepositoryNotFound|RevisionNotFound|EntryNotFound)Error\b"
        r"|\bdoes not appear to have a file named\b|\bis not a valid model identifier\b"
        r"|\b404 Client Error\b|\bNot Found for url\b|\bNoSuch(?:Key|Bucket)\b|\(404\) when calling\b",
        hint="The model id, revision or file name does not exist: fix the catalog entry.",
    ),
    _rule(
        "code.missing_artifact",
        "code_bug",
        CODE_STRONG,
        r"\bFailed to download model data\b|\bCould not find model data\b"
        r"|\bFailed to extract model data archive\b|\bmake sure all images included in the model\b"
        r"|\bCould not find (?:model|endpoint configuration|endpoint)\b|\bCannot create already existing\b"
        r"|\bdoes not exist in the registry\b|\bRepositoryNotFoundException\b|\bYAML_FILE_ERROR\b"
        r"|\bRuntime\.(?:ImportModuleError|HandlerNotFound|UserCodeSyntaxError)\b|\bNo module named\b"
        r"|\bexec format error\b|\bArgumentValidation\b|\binvalid reference format\b"
        r"|\brepository does not exist\b|\bmanifest (?:for \S+ )?(?:unknown|not found)\b|\bname unknown\b"
        r"|\bUnable to import module\b|\bCouldn't find valid bootstrap\b|\bCannotStartContainerError\b"
        r"|\bCannot pull (?:algorithm |the )?container\b|\bimage does not exist\b"
        r"|\bCannot find the requested image\b|\bRequested image\b.{0,200}?\bnot found\b"
        r"|\bcould not find plugin\b|\bplugin\b.{0,60}?\bnot found\b|\bUnable to access jarfile\b"
        r"|\bcan't find the specified secret\b"
        r"|\bCould not find or load main class\b|\bNo adapter found\b|\bfailed to stat (?:file|path)\b"
        # transformers naming a path or id it found nothing at ("Make sure that ... is the correct path").
        r"|\bCan't load (?:the )?(?:tokenizer|config|configuration|model|weights|processor) for '[^']*'\.? ?Make sure\b"
        r"|\bCan't find a valid checkpoint at\b",
        hint="An artifact, image, module or argument the stage needs is missing or wrong: fix the "
        "pipeline that produces it.",
    ),
    _rule(
        "code.config_validation",
        "code_bug",
        CODE_STRONG,
        r"\b\d+ validation errors? (?:for \w+|detected)\b|\bParamValidationError\b|\bfailed to satisfy constraint\b"
        r"|\berror: unrecognized arguments?\b|\berror: argument \S+: invalid\b"
        r"|\berror: invalid (?:value|choice)\b|\berror: unexpected argument\b"
        r"|\berror: the following arguments are required\b|\bSCHEMA_VALIDATION_FAILED\b"
        r"|\bunknown (?:shorthand )?flag\b"
        r"|\bconflicting dependencies\b|\bResolutionImpossible\b|\bdependency conflicts\b"
        r"|\bFailed building wheel\b|\bCould not build wheels\b|\bCUDA Setup failed\b|\bThe conflict is caused by\b"
        r"|\bInvalid value (?:provided )?for\b|\bexpected \S+ to be in the range\b"
        r"|\brequires a different Python\b|\bcatastrophic errors? detected\b"
        r"|\bclient version \S+ is too old\b|\bMinimum supported API version\b"
        r"|\binvalid\b[\w ]{0,40}\bdefinition\b"
        # A pod spec without the toleration its GPU nodes need (not a lack of capacity).
        r"|\bhad (?:untolerated taints?|taints? that the pod didn't tolerate)\b"
        # An image built for a newer CUDA than the host's driver: the image is wrong for the host.
        r"|\bCUDA driver version is insufficient for CUDA runtime version\b"
        r"|\bNVIDIA driver on your system is too old\b|\bunsatisfied condition: cuda\s*>="
        r"|\bncclInvalid(?:Usage|Argument)\b",
        hint="A generated argument or config is invalid: fix the generator.",
    ),
    _rule(
        # A Go runtime panic on a programming error (a nil pointer, an index out of range): the code's fault,
        # even when a SIGSEGV line or a CrashLoopBackOff around it names no cause.
        "code.runtime_panic",
        "code_bug",
        CODE_STRONG,
        r"\bpanic: runtime error\b"
        r"|\bruntime error: (?:invalid memory address or nil pointer dereference|index out of range"
        r"|slice bounds out of range|integer divide by zero)\b",
    ),
    _rule(
        "code.shell",
        "code_bug",
        CODE_STRONG - 5,
        r"\bcommand not found\b|\bNo such file or directory\b|\bexecutable file not found\b"
        r"|\bis not recognized as (?:the name of a cmdlet|an internal or external command)\b"
        r"|\berror while loading shared libraries\b"
        r"|(?:^|:\s)[\w./+-]+: not found\s*$|\bundefined symbol\b|\bcannot open shared object file\b"
        r"|\bPermission denied\b(?!.{0,40}publickey)",
    ),
    _rule(
        "code.request_invalid",
        "code_bug",
        CODE_STRONG - 5,
        r"\bReceived client error \(4\d\d\)|\bInput validation error\b"
        r"|\bmaximum context length is \d+ tokens\b|\bexceeds the model's maximum context length\b"
        r"|\bTorch not compiled with CUDA enabled\b"
        r"|\bis too long and exceeds (?:the )?limit of\b|\bPrompt is too long\b",
        hint="The test request or the build does not fit the model/server: fix the request "
        "(length, parameters) or the image.",
    ),
    _rule(
        "code.cuda_crash",
        "code_bug",
        CODE_STRONG - 5,
        r"\billegal memory access was encountered\b|\bdevice-side assert(?:ion)? triggered\b"
        r"|\bCUDA error: (?:invalid (?:configuration )?argument|unspecified launch failure|misaligned address"
        r"|an illegal instruction was encountered|invalid resource handle)\b"
        # ggml's own assertion (llama.cpp, Ollama), unless it is about an unsupported model
        r"|\bGGML_ASSERT\b(?![^\n]{0,80}\bunsupported\b)",
    ),
    # ------------------------------------------------------------------ capacity
    # A scheduler with no node to place a pod on: "Insufficient memory" there is a capacity
    # statement, not an OOM, so this one sits above the OOM band.
    _rule(
        "capacity.scheduler",
        "capacity",
        SCHEDULER,
        r"\bnodes are available\b.{0,300}?\bInsufficient\b|\b\d+ Insufficient (?:nvidia\.com/gpu|amd\.com/gpu"
        r"|aws\.amazon\.com/neuron\w*|cpu|memory|ephemeral-storage|pods)\b|\bFailedScheduling\b(?![^\n]{0,400}?\btaints?\b)",
        hint="No node has room for the workload: retry later, or add capacity to the cluster.",
    ),
    _rule(
        "capacity.insufficient",
        "capacity",
        CAPACITY,
        r"(?<![A-Za-z])Insufficient\w*Capacity\w*\b|\binsufficient (?:[\w.-]+ ){0,2}?capacity\b|\bCapacityError\b"
        r"|\b(?:do not|don't) have (?:sufficient|enough)\b.{0,60}?\bcapacity\b"
        r"|\bUnable to provision requested ML compute capacity\b"
        r"|\btemporarily unavailable in (?:the )?supported availability zones\b"
        r"|\bNoCapacityError\b|\bno capacity\b|\bout of capacity\b|RESOURCE_POOL_EXHAUSTED\w*\b|\bSTOCKOUT\b"
        r"|\b(?:Zonal|Overconstrained)?Allocation(?:Failed|Request)\b|\bAllocationFailed\b"
        r"|\bdoes not have enough resources available\b|\bnot enough resources (?:available )?to fulfill\b"
        r"|\bno (?:more )?(?:instances|machines|GPUs?|nodes) (?:are )?(?:currently )?available\b"
        r"|\bno longer any instances available\b|\bFailed to acquire resources\b"
        r"|\bresources? (?:are |is )?(?:currently )?(?:exhausted|unavailable) in (?:the )?(?:zone|region)\b"
        r"|\bis currently (?:not available|unavailable) in (?:location|region|zone)\b|\bSkuNotAvailable\b"
        r"|\bnot enough (?:free |available )?GPUs?\b|\bpre-?empted\b"
        # (not the scheduler's own "preemption: 0/3 nodes are available" / "Preemption is not helpful")
        r"|\bPreemption\w*\b(?!:\s*\d+/\d+ nodes| is not helpful)"
        r"|\bno \w+ available right now\b|\bwaiting for available resources\b|\boverloaded\b|\btoo busy\b"
        r"|\bNo deployments available\b|\bdoes not have (?:the |enough )?resources to\b|\bOutOfResource\b"
        r"|\b(?:not|no) enough (?:unused |free |available )?GPU|\bcannot be allocated\b|\bNo available slots?\b"
        r"|\bcurrently unavailable in (?:the )?\S+ (?:zone|region|availability zone)\b|\bstock-?out\b"
        r"|\b(?:no|not enough|insufficient|lack of|out of|no more)\s+"
        r"(?:unused\s+|spare\s+|available\s+|Spot\s+|host\s+|hardware\s+|GPU\s+|compute\s+)?capacity\b"
        r"|\bworking on acquiring\b"
        r"|\b(?:isn't|is not) enough (?:spare |available )?capacity\b|\bUnfulfillable\w*Capacity\b"
        r"|\bcapacity[-_ ](?:not[-_ ]available|oversubscribed|unavailable|exhausted)\b",
        hint="The instance type is out of stock: retry after about 1h or try the next instance.",
    ),
    _rule(
        "capacity.throttling",
        "capacity",
        CAPACITY,
        r"(?<![A-Za-z])Throttl(?:ing|ed)(?:Exception)?\b|\bRate exceeded\b|\bTooManyRequests(?:Exception)?\b"
        r"|\btoo many 429\b|\bSpotMaxPriceTooLow\b|\bprice-too-low\b"
        r"|\bTOOMANYREQUESTS\b|\bToo Many Requests\b|\bSlowDown\b|\bRequestLimitExceeded\b"
        r"|\bProvisionedThroughputExceeded\w*\b|\bpull rate limit\b|\brate limit exceeded\b"
        r"|\breduce your request rate\b|\b503:? Slow Down\b|\bRateLimitExceeded\b"
        r"|\b(?:status(?:_code)?|HTTP(?: status)?|Error|code)\W{0,4}429\b|\b429 Client Error\b|\bwith 429\b",
        hint="Throttled by the service: retry with back-off.",
    ),
    # An explicit request-rate limit: it beats the 403/"quota" wording some APIs wrap it in
    # (GitHub's "API rate limit exceeded" is a 403; Bedrock names its invocation quotas).
    _rule(
        "capacity.rate_limit",
        "capacity",
        RATE_LIMIT,
        r"\b(?:API |secondary |request )?rate limit (?:exceeded|reached|hit)\b|\bexceeded a secondary rate limit\b"
        r"|\brequest rate is too high\b|\bRateLimitExceeded\w*\b|\bper (?:hour|minute|second) limit reached\b"
        r"|\bhit the quota of \d+ api requests\b|\bplease try again after '?\d+'? seconds\b"
        r"|\bToo many (?:operations|tokens)\b|\bRequest was throttled\b|\brate limited\b"
        r"|\b429 Too Many Requests\b|\b(?:GET|POST|PUT|HEAD|PATCH) 429\b|\b429 Resource has been exhausted\b"
        # A quota whose metric is a request or token rate (Vertex AI names it; every quota there is a 429).
        r"|\bQuota exceeded for [\w./-]*(?:requests|per_minute|per_second|tokens_per)[\w./-]*",
    ),
    _rule(
        "capacity.unavailable",
        "capacity",
        CAPACITY - 5,
        r"\bServiceUnavailable(?:Exception)?\b",
        hint="The service is temporarily unavailable: retry with back-off.",
    ),
    # ------------------------------------------------------------------- timeout
    _rule(
        "timeout.timed_out",
        "timeout",
        TIMEOUT,
        r"(?<![A-Za-z])timed[ _-]?out(?![A-Za-z])|\b\w*Timeout(?:Error|Exception)\b|\bReadTimeout\b"
        r"|\bStates\.Timeout\b|\bdeadline exceeded\b|\bGateway Time-?out\b"
        r"|\b(?:read|connect|connection|request|socket|invocation|handshake|i/o|idle|watchdog|heartbeat"
        r"|execution|operation|startup) time-?out\b|\bStatus: timeout\b"
        r"|\btime-?out (?:while|after)\b"
        r"|\btime-?out (?:exceeded|expired|reached|waiting)\b"
        r"|\bexceeded (?:the |its )?(?:maximum |max )?(?:time|timeout|deadline)\b"
        r"|\bexceeded (?:the |its )?(?:maximum |max |allowed )?(?:execution|run|running|job|build) ?(?:time|duration)\b"
        r"|\b(?:execution|job|build|step) time ?limit\b|\btime limit (?:exceeded|reached)\b|\bDUE TO TIME LIMIT\b"
        r"|\b(?:cancel+ed|terminated|killed|aborted) (?:because|as|since) it (?:exceeded|ran longer|took longer)\b"
        r"|\bran longer than\b|\bexceeded the (?:\d+[- ]?(?:minute|hour|second)s? )?timeout\b|\btook longer than\b"
        r"|\bexceeded (?:the |its )?(?:maximum |max )?(?:allowed |configured )?(?:time|duration|timeout)\b"
        r"|\bDeadline of [\d.]+\s*s exceeded\b|\bdid not respond (?:in|within)\b|\bchunk timeout\b"
        r"|\bTimeout has been exceeded\b|\bfailed to start within\b|\bafter (?:a )?timeout(?: of)? \d"
        r"|\bwaiter has exceeded the max(?:imum)? (?:retry )?attempts\b|\bsocket\.timeout\b|^timeout\s+Traceback\b"
        r"|\bfailed to stabilize\b|\bfailed to (?:finish|complete|start|become ready) within\b|\bTimeout was reached\b"
        r"|\bWORKER TIMEOUT\b|\btime-?out \(\d+ ?m?s\)|\bwithin the (?:al+ot+ed|allowed) time\b"
        r"|\bdid not (?:start|respond|finish|complete) (?:within|in time)\b"
        r"|\bcould not get a response from\b|\bno response (?:from|within)\b|\bETIMEDOUT\b"
        r"|\b(?:before )?timing out\b|\bcollective operation time-?out\b"
        # A build service's terminal status ("completed with status "TIMEOUT"") and a tool that gave up
        # waiting on a process ("took very long to exit, killing").
        r"|\bwith status:? \W?TIMEOUT\b|\btook (?:very |too )?long to (?:exit|respond|start|load|finish)\b"
        r"|\b(?:status(?:_code)?|HTTP(?: status)?|Error|code)\W{0,4}504\b",
    ),
    _rule(
        "timeout.health_check",
        "timeout",
        TIMEOUT - 5,
        r"\bdid not pass the ping health check\b|\bhealth ?check (?:failed|failure)\b|\bfailed to respond to ping\b"
        r"|\bfailed (?:the )?(?:ping )?health ?checks?\b|\bdid not become (?:healthy|ready)\b"
        r"|\bdid not pass (?:the )?(?:ping |container )?health ?checks?\b"
        r"|\bWaiter \w+ failed: Max attempts exceeded\b|\bWaiterError\b|\bResourceNotReady\b"
        r"|\bfailed waiting for\b|\bnever became (?:ready|healthy|available)\b",
        hint="The container never became healthy and no cause was found: read its CloudWatch "
        "logs; retry with a longer start-up health-check timeout.",
    ),
    # ------------------------------------------------ unknown (transient network)
    # A dropped connection explains a non-zero exit better than "the script is wrong", so
    # it beats the weak code_bug rules; it decides `unknown` (retried once).
    _rule(
        "unknown.transient_network",
        "unknown",
        TRANSIENT,
        r"\bECONNRESET\b|\bECONNREFUSED\b|\bconnection reset by peer\b|\bbroken pipe\b"
        r"|\bunexpected EOF\b|^EOF$|\bRetrying in \d+ seconds?\b|\bConnection refused\b"
        r"|\bConnection (?:closed|aborted) by (?:peer|remote)\b|\bTemporary failure in name resolution\b"
        r"|\bx509: certificate\b|\bTLS handshake error\b"
        r"|\b\w*(?:Connection|Connector|Network|Transport|Socket|Unavailable|Disconnected)\w*(?:Error|Exception)\b"
        r"|\bConnection aborted\b|\bCannot connect to host\b|\bcould(?: not|n't) connect to\b"
        r"|\bFailed to establish a new connection\b|\bName or service not known\b|\bIncompleteRead\b"
        r"|\bCERTIFICATE_VERIFY_FAILED\b|\bSSLError\b|\bResourceConflictException\b"
        r"|\bConcurrentModification\w*\b|\bupdate is in progress\b"
        r"|\bConnection was closed before\b|\bRemoteDisconnected\b|\bServer disconnected\b"
        r"|\b(?:failed|giving up) after \d+ (?:retries|attempts)\b|\bMax retries exceeded\b"
        r"|\bcheck your (?:internet|network) connection\b|\bno such host\b|\bUnknown host\b"
        r"|\bDNS\b.{0,40}?\b(?:lookup )?failed\b|\berror trying to connect\b|\bCannot connect to the Docker daemon\b",
        hint="A network connection dropped: transient, retried once.",
    ),
    # No usable GPU at all, or a GPU that failed in hardware: the host or the container's runtime is
    # wrong (no driver mounted, a CPU instance, an ECC fault), which says nothing about whether the
    # model runs on that GPU. Not a model incompatibility (that would be written unfeasible): retried once.
    _rule(
        "unknown.gpu_unavailable",
        "unknown",
        TRANSIENT,
        r"\bFound no NVIDIA driver on your system\b|\bNo CUDA GPUs are available\b"
        r"|\bno CUDA-capable device is detected\b|\bCUDA driver initialization failed\b"
        r"|\bFailed to infer device type\b|\buncorrectable ECC error\b|\bfallen off the bus\b"
        r"|\bNVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver\b"
        r"|\bnvml error: driver not loaded\b|\bnvidia-container-cli: initialization error\b",
        hint="No usable GPU was found (no driver in the container, a CPU host, or a GPU fault): retried once; "
        "check the instance type and the image's GPU runtime.",
    ),
    # A full disk is the cause of whatever build step or download then fails ("COPY failed",
    # "failed to read dockerfile", pip errors): it beats the code_bug bands. Retried once.
    _rule(
        "unknown.disk_full",
        "unknown",
        DISK_FULL,
        r"\bno space left on device\b|\bENOSPC\b|\b(?:not enough|insufficient) (?:free )?disk space\b"
        r"|\blow on resource: ephemeral-storage\b",
        hint="The disk filled up: retried once; if it recurs, raise the volume size or clean the build cache.",
    ),
    # A crash that names no cause (an engine that "died", a segfault, an NCCL or internal
    # service error, a full disk): one retry is the right amount of optimism. It outranks the
    # weak code_bug band so that a generic exception line wrapping it does not make it a code bug.
    _rule(
        "unknown.inconclusive_crash",
        "unknown",
        TRANSIENT,
        r"\bEngine core initialization failed\b|\bSee\b.{0,30}?\broot cause\b|\b\w*EngineDeadError\b"
        r"|\b(?:process|worker|actor|engine|core|shard)\b.{0,40}?\bdied\b"
        r"|\bNCCL (?:error|communicator was aborted)\b|\bncclUnhandled\w*\b"
        r"|\bnccl(?:System|Internal|Remote)Error\b|\bcontainer has crashed\b|\bcrashed or terminated\b"
        r"|\bLiveness probe failed\b"
        r"|\bSegmentation fault\b|\bSIGSEGV\b|\bcore dumped\b"
        r"|\bInternal ?Server ?(?:Error|Exception)\b|\bInternalFailure\b|\bINTERNAL_ERROR\b"
        r"|\binternal (?:service |server )?error\b|\bServiceException\b"
        r"|\bCancelledError\b|\b50[0234] Server Error\b|\bBad Gateway\b"
        r"|\bserver error \(5\d\d\)|\bInternalError\b|\bInternal Failure\b|\bagent lost\b|\brunner (?:has been )?lost\b"
        r"|\bSignal \((?:11|6|4|7|8)\) received\b|\bexit status 0x[0-9a-f]+\b"
        r"|\bCUDA (?:runtime )?error\b[^\n]{0,80}?\bunknown error\b"
        r"|\bHTTP (?:code |status )?5(?:00|02|03)\b|\bsignal SIG(?:ABRT|SEGV|BUS|ILL|FPE)\b"
        r"|\b503 Service (?:Temporarily )?Unavailable\b"
        r"|\bSee job logs for more information\b|\bterminated abruptly\b"
        # Something stopped and its own words name no cause: an agent or node lost, a service that did
        # not answer, a process that "exited unexpectedly".
        r"|\b(?:exit(?:ed|s)?|terminated|died|crashed|stopped|quit)\s+unexpectedly\b"
        r"|\bunexpectedly (?:exited|terminated|died|crashed|stopped)\b"
        r"|\bwent offline\b|\bConnection was broken\b|\bRequest to service failed\b"
        r"|\bUnable to get response from\b|\bNode failure\b|\bMPI_ABORT was invoked\b"
        # A node declared dead for missed heartbeats (Ray), a service's "something went wrong", a
        # provisioning that ended "Failed" with no code (Azure), a CloudFormation handler's general error.
        r"|\bmissed too many heartbeats\b|\bSomething went wrong\b|\bterminal provisioning state\b"
        r"|\bResource state Failed\b|\bGeneralServiceException\b"
        r"|\bterminated (?:due to|by) signal (?:4|6|7|8|11)\b|\bexitcode\s*:\s*-(?:11|6|4|7|8)\b"
        # A container restarting in a loop (Kubernetes says so, not why); a hosted model "currently loading".
        r"|\bCrashLoopBackOff\b|\bis currently loading\b"
        # A Kubernetes Job out of retries, a CloudFormation rollback that gives no reason.
        r"|\bBackoffLimitExceeded\b|\breached the specified backoff limit\b|\bNo reason was provided\b"
        r"|\b(?:see|check) the (?:error )?(?:messages?|logs?|stack ?trace|output) above\b|" + _CRASH_SIGNAL_EXIT,
        hint="The process crashed without naming a cause: retried once; read the logs above the crash.",
    ),
    # ---------------------------------------------------------- code_bug (weak)
    _rule(
        "code.command_failed",
        "code_bug",
        CODE_WEAK,
        r"\bCOMMAND_EXECUTION_ERROR\b(?!.{0,400}?\bexit status (?:129|1[3-5]\d)\b)"
        r"|\bError while executing command\b.{0,400}?\bReason: exit status "
        + _NONZERO_NOT_SIGNAL
        + r"|\bCommand did not exit successfully\b.{0,400}?\bexit status "
        + _NONZERO_NOT_SIGNAL
        + r"|\bdid not complete successfully: exit code: "
        + _NONZERO_NOT_SIGNAL
        + r"|\bRuntime exited with error: exit status "
        + _NONZERO_NOT_SIGNAL
        + r"|\bExecuteUserScriptError\b|\bProcess exited with:? "
        + _NONZERO_NOT_SIGNAL
        + r"|\bmake: \*\*\* .{0,200}\bError "
        + _NONZERO_NOT_SIGNAL
        + r"|\bCannotPullContainerError\b|\bUnable to pull (?:customer's )?container image\b"
        # Any other "exited with code 1", "returned a non-zero code: 100", "Exit Code: 1",
        # "failed with error code 1" (never for a signal: 137/143/130).
        r"|\b(?:exit(?:ed)?(?: with)?|returned(?: a)?(?: non-zero)?|failed with)\s+(?:a\s+)?"
        r"(?:(?:exit|error|return|non-zero)\s+)?(?:status\s+code|code|status)(?:\s+of)?\W{0,3}\s{0,8}"
        + _NONZERO_NOT_SIGNAL
        + r"|\bRuntime exited without providing a reason\b|\bCLIENT_ERROR\b|\breturned a non-zero code:?\s*$"
        r"|\bCould not find a version that satisfies the requirement\b|\bNo matching distribution found\b"
        r"|\bAssertion (?:failed\b|`[^`]{0,200}' failed\b)"
        r"|\bimage build did not succeed\b|\bmarked build as failure\b"
        r"|\bexitcode\s*:\s*" + _NONZERO_NOT_SIGNAL,
        hint="A build or script command failed: read the lines before it, fix the script, then prove again.",
    ),
    _rule(
        "code.generic_exception",
        "code_bug",
        CODE_WEAK,
        r"(?<![A-Za-z])(?:ValueError|AssertionError|NotImplementedError)(?::|\s*$)"
        r"|\bValidationException\b|\bInvalidParameter(?:Value|Combination)?(?:Exception)?\b"
        r"|\bValue error, |\[type=value_error\b|\bdoes not exist\b|\balready exists?\b"
        # Any other named exception with a message ("FooError: ...", "x.y.BarException: ..."),
        # except the wrappers whose own message carries the cause (ClientError, ModelError, ...).
        r"|(?<![\w.])(?:[A-Za-z_]\w*\.)*(?!(?:ClientError|ModelError|UnexpectedStatusException"
        r"|FailedStatusError|HTTPError|HfHubHTTPError|GenerationError|RayTaskError|WaiterError)\b)"
        r"[A-Za-z][A-Za-z0-9]*(?:Error|Exception):\s+\S",
    ),
)

LINE_SPLIT: Final[re.Pattern[str]] = re.compile(r"\r\n|\r|\n|\\r\\n|\\n")
"""Real newlines, and the escaped ones of a JSON-encoded cause (Step Functions, Lambda): how a message
is cut into lines, for the rules and the model alike."""

WEAK_LINE: Final[re.Pattern[str]] = re.compile(
    r"^(?!.*\bterminated due to signal \d)"
    r".{0,60}?(?:(?<![A-Za-z])(?:INFO|DEBUG|TRACE|WARN|WARNING)(?![A-Za-z])(?![-=(])"
    r"|\[(?:I|W|D)\]|\blevel=(?:info|debug|warn|warning)\b)"
    r"|\b\w+Warning:",
    _FLAGS,
)
"""A log line at INFO/DEBUG/WARNING level (or a Python warning): its matches count less."""

HEDGE: Final[re.Pattern[str]] = re.compile(
    # "could not" / "couldn't" states a failure ("could not read from remote repository"); "could" alone hedges.
    r"\b(?:may|might|could(?!\s*(?:not|n't)\b)|possibly|probably|perhaps|if|whether|consider|such as|e\.g\.|"
    r"common causes|"
    r"causes include|can be caused|can happen|happens when|likely|potential(?:ly)?|possible)\b",
    _FLAGS,
)
"""A hedge just before a match ("common causes include ... the OOM killer") is a guess, not proof."""

FAILURE_SIGNAL: Final[re.Pattern[str]] = re.compile(
    r"\w*(?:error|fail|exception|fault)\w*|已杀死|"
    r"\b(?:fatal|panic\w*|denied|refused|cannot|can't|could ?n[o']t|unable|invalid|not found|killed|abort\w*|"
    r"traceback|exit\w*|timed? ?out|timeout|exceeded|limit\w*|quota|unsupported|not supported|not allowed|"
    r"unavailable|insufficient|crash\w*|terminated|evicted|forbidden|unauthori[sz]ed|oom|out of memory|"
    r"no such|missing|illegal|throttl\w*|too many)\b",
    _FLAGS,
)
"""Any word of a failure at all. A message with none ("hello world", a bare id) says nothing: with no
rule and an unsure model it stays ``unknown`` instead of taking the model's best guess."""

STAGE_RULES: Final[tuple[tuple[str, re.Pattern[str]], ...]] = tuple(
    (stage, re.compile(regex, _FLAGS))
    for stage, regex in (
        ("push", r"\bdocker push\b|\bPutImage\b|\bInitiateLayerUpload\b|\bpush(?:ing)? (?:the )?image\b"),
        ("tune", r"\bCreateTrainingJob\b|\btraining job\b|\bfine-?tun\w*\b"),
        ("adapter", r"\bCreateInferenceComponent\b|\bLoRA adapter\b|\bload(?:ing)? (?:the )?adapter\b"),
        ("benchmark", r"\bbenchmark\w*\b|\bgenai-perf\b|\bllmperf\b"),
        ("test", r"\bInvokeEndpoint\w*\b|/invocations\b|\binvocation timed out\b"),
        ("clean", r"\bDelete(?:Endpoint|EndpointConfig|Model)\b"),
        (
            "deploy",
            r"\b(?:Create|Update)(?:Endpoint|EndpointConfig|Model)\b|\bping health check\b"
            r"|\bproduction variant\b|\bEndpointInService\b|\bhosting endpoint\b",
        ),
        ("register", r"\bStartQueryExecution\b|\bAthena\b|\bGlue\b|\bCreateModelPackage\b"),
        ("generate", r"\bjinja2?\b|\bTemplate(?:SyntaxError|NotFound)\b|\bUndefinedError\b"),
        ("stage", r"\bsnapshot_download\b|\bpre-?stag\w*\b|\baws s3 (?:sync|cp)\b"),
        (
            "build",
            r"\bCodeBuild\b|\bbuildspec\b|\bPhase context status code\b|\bphase:? (?:PRE_)?BUILD\b"
            r"|\bdocker build\b|\bDockerfile\b|\bfailed to solve\b|\btrtllm-build\b",
        ),
        (
            "deploy",
            r"\bRunInstances\b|\bEngineCore\w*\b|\bEngine core\b|\btext_generation_launcher\b"
            r"|\bsglang\.launch_server\b|\bapi_server\.py\b|\bmodel_runner\b|\bload_weights\b"
            r"|\bvllm serve\b|\bShardCannotStart\b|\bmodelInstanceState\b|\bError hosting endpoint\b",
        ),
    )
)
"""Ordered (first match wins) patterns that infer a stage from the text when none is given."""
