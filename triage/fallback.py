"""Triage by the safety rules alone: what a message gets if the model cannot run."""

from __future__ import annotations

from triage import safety
from triage.labels import Risk
from triage.result import TriageResult
from triage.text import normalize

FALLBACK_VERSION = "safety-rules-only"


def rules_only(text: str) -> TriageResult:
    finding = safety.check(normalize(text))
    return TriageResult(
        topics=finding.topics or ["other"],
        risk=finding.floor,
        topic_scores={},
        risk_scores={},
        evidence=finding.evidence,
        model_version=FALLBACK_VERSION,
        model_risk=Risk.low,
    )
