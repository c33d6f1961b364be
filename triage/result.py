"""What triage says about one message, with the evidence a counsellor can be shown."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from triage.labels import Risk


@dataclass(frozen=True)
class Evidence:
    """A term or rule behind a result. `span` is where it stands in the original text, when known."""

    kind: Literal["term", "rule"]
    label: str  # the term as the model knows it, or the rule's name
    supports: str  # a topic code, or a risk level
    weight: float
    matched: str | None = None  # the words as they stand in the normalised text, for highlighting
    span: tuple[int, int] | None = None  # where `matched` stands in the normalised text
    note: str | None = None  # for rules: why, in Japanese, for the console


@dataclass(frozen=True)
class TriageResult:
    topics: list[str]
    risk: Risk
    topic_scores: dict[str, float]
    risk_scores: dict[str, float]  # probability of at least each level
    evidence: list[Evidence] = field(default_factory=list)
    model_version: str = ""
    model_risk: Risk | None = None  # before the safety layer

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["risk"] = str(self.risk)
        data["model_risk"] = str(self.model_risk) if self.model_risk else None
        return data
