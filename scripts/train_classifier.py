"""Train, cross-validate and report the classifier's learned fallback.

    python scripts/train_classifier.py train    # fit on the corpus' train split, write the shipped weights
    python scripts/train_classifier.py check    # retrain and compare with the shipped weights
    python scripts/train_classifier.py cv       # 5-fold (by source) cross-validation of thresholds, train split
    python scripts/train_classifier.py report   # blind-split tables for docs/classifier.md
    python scripts/train_classifier.py agreement  # how far two people labelling the same items agree

The blind split is never read by `train` or `cv`: it is only measured, by `report`.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lambdas"))

from pathprover.classifier import model as learned  # noqa: E402
from pathprover.classifier import training  # noqa: E402
from pathprover.classifier.rules import RETRYABLE  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "classifier_corpus.jsonl"
AGREEMENT = ROOT / "tests" / "data" / "classifier_agreement.jsonl"
classify = importlib.import_module("pathprover.classifier.classify")  # the module (the package exports the function)
WEIGHTS = ROOT / "lambdas" / "pathprover" / "classifier" / "data" / learned.WEIGHTS_FILE


def _train_split(items: Sequence[training.CorpusItem]) -> list[training.CorpusItem]:
    return [item for item in items if item.split == "train"]


def fit(items: Sequence[training.CorpusItem]) -> learned.LinearModel:
    model = training.train([i.text for i in items], [i.category for i in items])
    return learned.LinearModel(
        model.classes, model.weights, model.bias, {**model.meta, "corpus_hash": training.corpus_hash(items)}
    )


def cmd_train(_: argparse.Namespace) -> int:
    items = _train_split(training.load_corpus(CORPUS))
    model = fit(items)
    learned.save(str(WEIGHTS), model.classes, model.weights, model.bias, model.meta)
    print(f"trained on {len(items)} items (corpus hash {model.meta['corpus_hash']}): {WEIGHTS.relative_to(ROOT)}")
    return 0


def cmd_check(_: argparse.Namespace) -> int:
    items = _train_split(training.load_corpus(CORPUS))
    shipped = learned.load_file(str(WEIGHTS))
    expected = training.corpus_hash(items)
    if shipped.meta.get("corpus_hash") != expected:
        print(
            f"the shipped weights were trained on corpus {shipped.meta.get('corpus_hash')}, the train split is "
            f"{expected}: run `python scripts/train_classifier.py train`"
        )
        return 1
    model = fit(items)
    diff = float(np.max(np.abs(model.weights.astype(np.float16).astype(np.float32) - shipped.weights)))
    print(f"retrained: max weight difference {diff:.2e}")
    return 0 if diff < 1e-2 else 1


def evaluate(
    items: Sequence[training.CorpusItem],
    fallback: learned.LinearModel | None = None,
    sure: int = classify.SURE_SCORE,
    min_conf: float = classify.MODEL_MIN_CONFIDENCE,
    overrides: float = classify.MODEL_OVERRIDES_UNKNOWN,
    symptom: float | None = None,
    guess: float = classify.BEST_GUESS_MIN,
) -> list[str]:
    return [
        classify.classify(
            i.text,
            i.stage,
            fallback=fallback,
            sure_score=sure,
            min_confidence=min_conf,
            overrides_unknown=overrides,
            overrides_symptom=symptom,
            best_guess=guess,
        ).category
        for i in items
    ]


def scores(labels: Sequence[str], answers: Sequence[str]) -> tuple[float, float]:
    category = sum(a == b for a, b in zip(labels, answers, strict=True)) / len(labels)
    retryable = sum(RETRYABLE[a] == RETRYABLE[b] for a, b in zip(labels, answers, strict=True)) / len(labels)  # type: ignore[index]
    return category, retryable


Setting = tuple[int, float, float, float | None, float]


def cmd_cv(args: argparse.Namespace) -> int:
    items = _train_split(training.load_corpus(CORPUS))
    chosen: Setting = (
        classify.SURE_SCORE,
        classify.MODEL_MIN_CONFIDENCE,
        classify.MODEL_OVERRIDES_UNKNOWN,
        None,  # the per-rule thresholds of classify.SYMPTOM_RULES
        classify.BEST_GUESS_MIN,
    )
    if args.chosen:
        grid = [chosen]
    elif args.full:
        grid = [
            (sure, conf, over, symptom, guess)
            for sure in (30, 31, 41, 51, 200)
            for conf in (0.3, 0.4, 0.5, 0.65, 1.01)
            for over in (0.6, 0.8, 0.9, 1.01)
            for symptom in (None, 1.01)
            for guess in (0.2, 1.01)
        ]
    else:  # the two steps this revision added, around the earlier chosen setting; 1.01 turns a step off
        grid = [
            (chosen[0], chosen[1], chosen[2], symptom, guess)
            for symptom in (None, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01)
            for guess in (0.2, 0.25, 0.3, 1.01)
        ]
    answers: dict[Setting, list[str]] = {g: [""] * len(items) for g in grid}
    model_alone = [""] * len(items)
    for train_idx, test_idx in training.folds(items, args.folds):
        model = training.train([items[i].text for i in train_idx], [items[i].category for i in train_idx])
        for setting in grid:
            tested = evaluate([items[i] for i in test_idx], model, *setting)
            for i, answer in zip(test_idx, tested, strict=True):
                answers[setting][i] = answer
        for i in test_idx:
            model_alone[i] = model.predict(classify.bounded(items[i].text))[0]
    labels = [i.category for i in items]
    print(f"{len(items)} train-split items, {args.folds}-fold by source")
    print("sure  conf  over  symptom  guess   category  retryable")
    for (sure, conf, over, symptom, guess), got in answers.items():
        cat, ret = scores(labels, got)
        shown = "chosen" if symptom is None else symptom
        print(f"{sure:>4}  {conf:>4}  {over:>4}  {shown:>7}  {guess:>5}   {cat:8.1%}  {ret:8.1%}")
        if args.chosen:
            for item, answer in zip(items, got, strict=True):
                if answer != item.category:
                    print(f"miss {item.id}: {item.category} -> {answer}: {' '.join(item.text.split())[:300]}")
    cat, ret = scores(labels, model_alone)
    print(f"model alone{'':>31}{cat:8.1%}  {ret:8.1%}")
    return 0


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _wave(item_id: str) -> str:
    """The collection wave of an item: its id's first part (``w21`` of ``w21-a-0001``)."""
    return item_id.split("-", 1)[0]


def cmd_report(args: argparse.Namespace) -> int:
    items = [i for i in training.load_corpus(CORPUS) if i.split == "blind"]
    if not items:
        print("no blind items in the corpus")
        return 1
    labels = [i.category for i in items]
    hybrid = evaluate(items)
    rules_only = evaluate(items, sure=0, min_conf=1.01, symptom=1.01, guess=1.01)  # no model at all
    model = learned.shipped()
    model_only = [model.predict(classify.bounded(i.text))[0] for i in items]
    lines = [f"Blind split: {len(items)} items.", "", "| answer | category | retryable |", "|---|--:|--:|"]
    for name, got in (("rules + model (shipped)", hybrid), ("rules alone", rules_only), ("model alone", model_only)):
        cat, ret = scores(labels, got)
        lines.append(f"| {name} | {cat:.1%} | {ret:.1%} |")
    waves = sorted({_wave(i.id) for i in items})
    if len(waves) > 1:  # a blind split of several waves: each one's figures too (category / retryable)
        lines += ["", "| wave | items | rules + model | rules alone | model alone |", "|---|--:|--:|--:|--:|"]
        for wave in waves:
            idx = [n for n, i in enumerate(items) if _wave(i.id) == wave]
            cells = []
            for got in (hybrid, rules_only, model_only):
                cat, ret = scores([labels[n] for n in idx], [got[n] for n in idx])
                cells.append(f"{cat:.1%} / {ret:.1%}")
            lines.append(f"| {wave} | {len(idx)} | " + " | ".join(cells) + " |")
    lines += ["", "| category | items | precision | recall |", "|---|--:|--:|--:|"]
    for row in training.per_category(labels, hybrid):
        lines.append(f"| `{row['category']}` | {row['items']} | {_fmt(row['precision'])} | {_fmt(row['recall'])} |")
    table = training.confusion(labels, hybrid)
    lines += [
        "",
        "| label \\ answer | " + " | ".join(training.CLASSES) + " |",
        "|---|" + "--:|" * len(training.CLASSES),
    ]
    for label in training.CLASSES:
        cells = [f"**{n}**" if answer == label and n else (str(n) if n else "") for answer, n in table[label].items()]
        lines.append(f"| {label} ({sum(table[label].values())}) | " + " | ".join(cells) + " |")
    text = "\n".join(lines)
    print(text)
    if args.json:
        misses = [
            {"id": i.id, "label": i.category, "answer": a}
            for i, a in zip(items, hybrid, strict=True)
            if a != i.category
        ]
        print(json.dumps({"misses": misses}))
    return 0


def cmd_agreement(_: argparse.Namespace) -> int:
    """Agreement between the corpus labels, a second reader of the labelling policy, a reader of the guide's
    table alone, and the classifier, on the same sample: the ceiling an accuracy figure can be read against."""
    rows = [json.loads(line) for line in AGREEMENT.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = {item.id: item for item in training.load_corpus(CORPUS)}
    answers = {"classifier": evaluate([texts[row["id"]] for row in rows])}
    for key in ("corpus", "policy_reader", "guide_reader"):
        answers[key] = [row[key] for row in rows]
    pairs = [
        ("corpus", "policy_reader"),
        ("corpus", "guide_reader"),
        ("policy_reader", "guide_reader"),
        ("corpus", "classifier"),
        ("policy_reader", "classifier"),
        ("guide_reader", "classifier"),
    ]
    lines = [f"Agreement sample: {len(rows)} items.", "", "| labels | against | category | retryable |"]
    lines.append("|---|---|--:|--:|")
    for first, second in pairs:
        cat, ret = scores(answers[first], answers[second])
        lines.append(f"| {first} | {second} | {cat:.1%} | {ret:.1%} |")
    unsure = {key: sum(not row[f"{key}_sure"] for row in rows) for key in ("policy", "guide")}
    lines.append("")
    lines.append(f"Not sure: policy reader {unsure['policy']}, guide reader {unsure['guide']} of {len(rows)}.")
    print("\n".join(lines))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("train").set_defaults(func=cmd_train)
    sub.add_parser("check").set_defaults(func=cmd_check)
    cv = sub.add_parser("cv")
    cv.add_argument("--folds", type=int, default=5)
    cv.add_argument("--chosen", action="store_true", help="only the chosen thresholds, and list the misses")
    cv.add_argument("--full", action="store_true", help="the whole grid, earlier thresholds included (slow)")
    cv.set_defaults(func=cmd_cv)
    report = sub.add_parser("report")
    report.add_argument("--json", action="store_true", help="also print the misses (ids only)")
    report.set_defaults(func=cmd_report)
    sub.add_parser("agreement").set_defaults(func=cmd_agreement)
    args = parser.parse_args()
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
