"""A trained triage model: plain arrays and JSON on disk (nothing executes on load), checked by hash."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from triage.features import Vectorizer, analyse
from triage.labels import RISKS, TOPICS
from triage.result import Evidence, TriageResult
from triage.vectors import DIMENSIONS, WordVectors, file_sha256

ARRAYS = "arrays.npz"
META = "model.json"
VECTORS = "vectors.npz"
EVIDENCE_TERMS = 3


class ModelIntegrityError(RuntimeError):
    """The files on disk are not the ones the model's metadata names."""


def ordinal(p: np.ndarray) -> np.ndarray:
    """P(>= urgent) cannot exceed P(>= high), nor that P(>= medium): the heads are trained apart, so a word
    common in farewells (ありがとう) can lift the urgent head alone; the lower heads keep it in check."""
    out: np.ndarray = np.minimum.accumulate(p, axis=-1)
    return out


def choose_topics(topic_p: np.ndarray, rule: np.ndarray) -> list[int]:
    """The likeliest topic, and up to two more that are likely enough on their own and beside it. One rule
    for all topics generalises better than a threshold per topic fitted to a few dev examples each."""
    absolute, relative = float(rule[0]), float(rule[1])
    order = np.argsort(-topic_p)
    best = topic_p[order[0]]
    more = [int(i) for i in order[1:3] if topic_p[i] >= absolute and topic_p[i] >= relative * best]
    return [int(order[0]), *more]


OTHER = TOPICS.index("other")
SMALL_TALK = 0.8  # the topic model is this sure a message is greetings, thanks, tests or chatter


def _small_talk(topic_p: np.ndarray) -> bool:
    return bool(int(np.argmax(topic_p)) == OTHER and topic_p[OTHER] >= SMALL_TALK)


def model_level(risk_p: np.ndarray, thresholds: np.ndarray, *, joking: bool, small_talk: bool = False) -> int:
    """The highest level whose head clears its threshold, with two checks on the model's word weights:
    a message that jokes (ｗ, すぎて死ぬ) is not made urgent by them, and small talk the topic model is sure
    of (こんにちは, はじめまして) is not made risky by them."""
    # The crisis rules, which read more closely, can still raise such a message.
    if small_talk:
        return 0
    level = 0
    for k in (3, 2, 1):
        if risk_p[k - 1] >= thresholds[k - 1]:
            level = k
            break
    return min(level, 2) if joking else level


def _sigmoid(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-x))
    return out


@dataclass
class TriageModel:
    version: str
    vectorizer: Vectorizer
    topic_coef: np.ndarray  # [topics, features]
    topic_intercept: np.ndarray
    topic_rule: np.ndarray  # [absolute, relative]: see choose_topics
    risk_coef: np.ndarray  # [3, features]: P(>= medium), P(>= high), P(>= urgent)
    risk_intercept: np.ndarray
    risk_thresholds: np.ndarray
    meta: dict[str, Any]
    # Word vectors feed the topic heads only (risk keeps to words and rules it can show as evidence).
    vectors: WordVectors | None = None
    topic_dense: np.ndarray | None = None  # [topics, DIMENSIONS]
    dense_weight: float = 0.0

    def dense(self, words: list[str]) -> np.ndarray | None:
        """The message's word-vector block as the topic heads see it: an idf-weighted mean, scaled."""
        if self.vectors is None:
            return None
        return self.dense_weight * self.vectors.document(words, self.vectorizer.word_weight)

    def topic_probabilities(
        self, idx: np.ndarray, values: np.ndarray, dense: np.ndarray | None
    ) -> np.ndarray:
        logits = self.topic_coef[:, idx] @ values + self.topic_intercept
        if dense is not None and self.topic_dense is not None:
            logits = logits + self.topic_dense @ dense
        return _sigmoid(logits)

    def predict(self, text: str, channel: str | None = None) -> TriageResult:
        analysed = analyse(text, channel)
        idx, values = self.vectorizer.vector(analysed.features)
        topic_p = self.topic_probabilities(idx, values, self.dense(analysed.words))
        risk_p = ordinal(_sigmoid(self.risk_coef[:, idx] @ values + self.risk_intercept))

        chosen = choose_topics(topic_p, self.topic_rule)
        topics = [TOPICS[i] for i in chosen]
        if "other" in topics and len(topics) > 1:
            topics.remove("other")

        level = model_level(
            risk_p, self.risk_thresholds, joking=analysed.joking, small_talk=_small_talk(topic_p)
        )
        model_risk = RISKS[level]

        evidence: list[Evidence] = []
        for i in chosen:
            evidence += self._terms(idx, values, self.topic_coef[i], TOPICS[i], analysed.normalized)
        if level:
            evidence += self._terms(
                idx, values, self.risk_coef[level - 1], str(model_risk), analysed.normalized
            )

        finding = analysed.safety
        risk = max(model_risk, finding.floor, key=lambda r: r.rank)
        for topic in finding.topics:  # a crisis rule names what the message is about
            if topic not in topics:
                topics = [topic, *[t for t in topics if t != "other"]][:3]
        return TriageResult(
            topics=topics,
            risk=risk,
            topic_scores={t: round(float(p), 4) for t, p in zip(TOPICS, topic_p, strict=True)},
            risk_scores={str(r): round(float(p), 4) for r, p in zip(RISKS[1:], risk_p, strict=True)},
            evidence=finding.evidence + evidence,
            model_version=self.version,
            model_risk=model_risk,
        )

    def _terms(
        self, idx: np.ndarray, values: np.ndarray, coef: np.ndarray, supports: str, normalized: str
    ) -> list[Evidence]:
        contributions = coef[idx] * values
        found: list[Evidence] = []
        for j in np.argsort(-contributions)[:EVIDENCE_TERMS]:
            if contributions[j] <= 0:
                break
            term = self.vectorizer.terms[idx[j]]
            shown = term.split(":", 1)[1] if ":" in term else term
            start = normalized.find(shown) if not term.startswith(("<", "ch:")) else -1
            found.append(
                Evidence(
                    kind="term",
                    label=shown,
                    supports=supports,
                    weight=round(float(contributions[j]), 4),
                    matched=shown if start >= 0 else None,
                    span=(start, start + len(shown)) if start >= 0 else None,
                )
            )
        return found

    # -- files ------------------------------------------------------------------------------------------

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        arrays = directory / ARRAYS
        files: dict[str, str] = {}
        if self.vectors is not None and self.topic_dense is not None:
            files[VECTORS] = self.vectors.save(directory / VECTORS)
        np.savez_compressed(
            arrays,
            topic_dense=self.topic_dense if self.topic_dense is not None else np.zeros((0, 0)),
            dense_weight=np.array([self.dense_weight]),
            idf=self.vectorizer.idf,
            topic_coef=self.topic_coef,
            topic_intercept=self.topic_intercept,
            topic_rule=self.topic_rule,
            risk_coef=self.risk_coef,
            risk_intercept=self.risk_intercept,
            risk_thresholds=self.risk_thresholds,
        )
        meta = {
            **self.meta,
            "version": self.version,
            "terms": self.vectorizer.terms,
            "files": {ARRAYS: _sha256(arrays), "terms": _terms_hash(self.vectorizer.terms), **files},
        }
        (directory / META).write_text(json.dumps(meta, ensure_ascii=False, indent=1, sort_keys=True))

    @classmethod
    def load(cls, directory: Path) -> TriageModel:
        meta = json.loads((directory / META).read_text())
        arrays_path = directory / ARRAYS
        expected = meta.get("files", {}).get(ARRAYS)
        if expected is None or _sha256(arrays_path) != expected:
            raise ModelIntegrityError(f"{arrays_path} does not match the hash in {directory / META}")
        with np.load(arrays_path, allow_pickle=False) as a:
            arrays = {k: a[k] for k in a.files}
        terms: list[str] = meta.pop("terms")
        if meta["files"].get("terms") != _terms_hash(terms):
            raise ModelIntegrityError(f"the vocabulary in {directory / META} does not match its hash")
        vectorizer = Vectorizer({t: i for i, t in enumerate(terms)}, arrays["idf"])
        if arrays["topic_coef"].shape != (len(TOPICS), len(terms)) or arrays["risk_coef"].shape[0] != 3:
            raise ModelIntegrityError("model arrays do not fit the topics, risk levels and vocabulary")
        vectors, topic_dense, dense_weight = None, None, 0.0
        expected_vectors = meta["files"].get(VECTORS)
        if expected_vectors is not None:
            vectors_path = directory / VECTORS
            if not vectors_path.exists() or file_sha256(vectors_path) != expected_vectors:
                raise ModelIntegrityError(f"{vectors_path} does not match the hash in {directory / META}")
            vectors = WordVectors.load(vectors_path)
            topic_dense = arrays["topic_dense"]
            dense_weight = float(arrays["dense_weight"][0])
            if topic_dense.shape != (len(TOPICS), DIMENSIONS):
                raise ModelIntegrityError("the word-vector weights do not fit the topics")
        return cls(
            version=meta["version"],
            vectorizer=vectorizer,
            topic_coef=arrays["topic_coef"],
            topic_intercept=arrays["topic_intercept"],
            topic_rule=arrays["topic_rule"],
            risk_coef=arrays["risk_coef"],
            risk_intercept=arrays["risk_intercept"],
            risk_thresholds=arrays["risk_thresholds"],
            meta=meta,
            vectors=vectors,
            topic_dense=topic_dense,
            dense_weight=dense_weight,
        )


def _terms_hash(terms: list[str]) -> str:
    return hashlib.sha256(json.dumps(terms, ensure_ascii=False).encode()).hexdigest()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
