"""Measuring a model the way Koe needs it measured: per-topic F1, the risk confusion matrix, urgent recall,
high-or-above recall, and how often hyperbole and jokes would page someone."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from triage.corpus import Example
from triage.labels import RISKS, TOPICS, Risk
from triage.result import TriageResult

JOKE_TAGS = {"hyperbole", "joke"}


@dataclass
class Report:
    n: int
    topic_micro_f1: float
    topic_macro_f1: float
    per_topic: dict[str, dict[str, float]]
    risk_confusion: list[list[int]]  # rows: truth low..urgent, columns: predicted
    urgent_recall: float
    high_or_above_recall: float
    false_urgent_on_jokes: float
    jokes: int
    risk_accuracy: float
    misses: list[dict[str, Any]] = field(default_factory=list)  # urgent or high predicted too low

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _ratio(a: int, b: int) -> float:
    return a / b if b else 0.0


def evaluate(examples: Sequence[Example], predict: Callable[[Example], TriageResult]) -> Report:
    tp = dict.fromkeys(TOPICS, 0)
    fp = dict.fromkeys(TOPICS, 0)
    fn = dict.fromkeys(TOPICS, 0)
    confusion = [[0] * len(RISKS) for _ in RISKS]
    jokes = jokes_urgent = 0
    misses: list[dict[str, Any]] = []
    for example in examples:
        result = predict(example)
        truth, got = set(example.topics), set(result.topics)
        for t in TOPICS:
            tp[t] += t in truth and t in got
            fp[t] += t not in truth and t in got
            fn[t] += t in truth and t not in got
        confusion[example.risk.rank][result.risk.rank] += 1
        if JOKE_TAGS & set(example.tags):
            jokes += 1
            jokes_urgent += result.risk == Risk.urgent
        if example.risk.rank >= Risk.high.rank and result.risk.rank < example.risk.rank:
            misses.append({"id": example.id, "truth": str(example.risk), "predicted": str(result.risk)})
    per_topic = {}
    for t in TOPICS:
        p, r = _ratio(tp[t], tp[t] + fp[t]), _ratio(tp[t], tp[t] + fn[t])
        per_topic[t] = {
            "precision": round(p, 3),
            "recall": round(r, 3),
            "f1": round(_ratio(2 * tp[t], 2 * tp[t] + fp[t] + fn[t]), 3),
            "support": tp[t] + fn[t],
        }
    all_tp, all_fp, all_fn = sum(tp.values()), sum(fp.values()), sum(fn.values())
    supported = [v["f1"] for v in per_topic.values() if v["support"]]
    urgent = confusion[3]
    high_up = confusion[2] + confusion[3]
    return Report(
        n=len(examples),
        topic_micro_f1=round(_ratio(2 * all_tp, 2 * all_tp + all_fp + all_fn), 4),
        topic_macro_f1=round(sum(supported) / len(supported), 4) if supported else 0.0,
        per_topic=per_topic,
        risk_confusion=confusion,
        urgent_recall=round(_ratio(urgent[3], sum(urgent)), 4),
        high_or_above_recall=round(
            _ratio(confusion[2][2] + confusion[2][3] + confusion[3][2] + confusion[3][3], sum(high_up)), 4
        ),
        false_urgent_on_jokes=round(_ratio(jokes_urgent, jokes), 4),
        jokes=jokes,
        risk_accuracy=round(_ratio(sum(confusion[i][i] for i in range(len(RISKS))), len(examples)), 4),
        misses=misses,
    )


def format_report(report: Report) -> str:
    lines = [
        f"messages: {report.n}",
        f"topic micro-F1: {report.topic_micro_f1:.3f}   macro-F1: {report.topic_macro_f1:.3f}",
        f"urgent recall: {report.urgent_recall:.3f}  high-or-above recall: {report.high_or_above_recall:.3f}",
        f"false urgent on hyperbole/jokes: {report.false_urgent_on_jokes:.3f} ({report.jokes} messages)",
        f"risk accuracy: {report.risk_accuracy:.3f}",
        "risk confusion (rows truth, columns predicted: low medium high urgent):",
    ]
    for level, row in zip(RISKS, report.risk_confusion, strict=True):
        lines.append(f"  {level!s:>7} " + " ".join(f"{c:6d}" for c in row))
    lines.append("per topic (precision recall F1 support):")
    for t, m in report.per_topic.items():
        lines.append(f"  {t:<17} {m['precision']:.3f} {m['recall']:.3f} {m['f1']:.3f} {m['support']:5.0f}")
    return "\n".join(lines)
