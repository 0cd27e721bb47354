"""Merge a wave of newly collected corpus items into the corpus, assigning the blind split.

    python scripts/merge_corpus_wave.py new/*.jsonl                 # a third of the sources held out
    python scripts/merge_corpus_wave.py --split blind new/*.jsonl   # a whole blind wave

Each new item gets `split`: by default `blind` for about a third of the sources
(chosen by a hash of the source URL, so both items of a thread land on the same
side), else `train`; `--split blind|train` puts the whole wave on one side.
Items are checked (keys, labels, retryable, stage, https source, no duplicate
id or text) before anything is written.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lambdas"))

from pathprover.classifier.rules import CATEGORIES, RETRYABLE, STAGES  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "classifier_corpus.jsonl"
KEYS = {"id", "text", "category", "retryable", "stage", "source"}
BLIND_SHARE = 35  # percent of sources


def split_of(source: str) -> str:
    return "blind" if int(hashlib.sha256(source.encode()).hexdigest(), 16) % 100 < BLIND_SHARE else "train"


def main(paths: list[str]) -> int:
    forced = None
    if paths[:1] == ["--split"]:
        forced, paths = paths[1], paths[2:]
        if forced not in ("blind", "train"):
            print(f"--split must be blind or train, not {forced!r}")
            return 2
    corpus = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    ids = {item["id"] for item in corpus}
    texts = {" ".join(item["text"].split()) for item in corpus}
    new: list[dict[str, object]] = []
    problems: list[str] = []
    for path in paths:
        for number, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
            if not raw.strip():
                continue
            where = f"{path}:{number}"
            try:
                item = json.loads(raw)
            except json.JSONDecodeError as exc:
                problems.append(f"{where}: not JSON ({exc.msg})")
                continue
            if set(item) != KEYS:
                problems.append(f"{where}: keys {sorted(item)}")
                continue
            if item["category"] not in CATEGORIES or item["retryable"] is not RETRYABLE[item["category"]]:
                problems.append(f"{where}: label {item['category']}/{item['retryable']}")
                continue
            if item["stage"] is not None and item["stage"] not in STAGES:
                problems.append(f"{where}: stage {item['stage']}")
                continue
            if not str(item["source"]).startswith("https://"):
                problems.append(f"{where}: source {item['source']}")
                continue
            norm = " ".join(str(item["text"]).split())
            if item["id"] in ids or norm in texts or not norm:
                print(f"skipped {item['id']}: duplicate id or text")
                continue
            ids.add(item["id"])
            texts.add(norm)
            item["split"] = forced or split_of(str(item["source"]))
            new.append(item)
    if problems:
        print("\n".join(problems))
        return 1
    with CORPUS.open("a", encoding="utf-8") as handle:
        for item in new:
            handle.write(json.dumps(item, ensure_ascii=False) + "\n")
    blind = sum(item["split"] == "blind" for item in new)
    print(f"merged {len(new)} items ({blind} blind, {len(new) - blind} train)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
