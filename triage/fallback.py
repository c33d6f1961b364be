"""Triage by the safety rules alone: what a message gets if the model cannot run."""

from __future__ import annotations

from triage import safety
from triage.labels import Risk
from triage.result import TriageResult
from triage.text import katakana_reading, normalize, romaji_reading

FALLBACK_VERSION = "safety-rules-only"


def rules_only(text: str) -> TriageResult:
    normalized = normalize(text)
    # Read as the model's features read it: romaji and katakana-only writing in hiragana too.
    reading = romaji_reading(normalized) or katakana_reading(normalized)
    finding = safety.check(f"{normalized} {reading}" if reading else normalized)
    return TriageResult(
        topics=finding.topics or ["other"],
        risk=finding.floor,
        topic_scores={},
        risk_scores={},
        evidence=finding.evidence,
        model_version=FALLBACK_VERSION,
        model_risk=Risk.low,
    )
