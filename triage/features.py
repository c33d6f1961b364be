"""Features: Sudachi normalised-form unigrams and bigrams, character n-grams of the normalised text, and the
signals (laughter, emoji, kaomoji) and desk. TF-IDF weighted, as scikit-learn's TfidfVectorizer with
sublinear tf and l2 norm does; the fitted vocabulary and idf are plain arrays, so a model loads without
unpickling anything."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from triage import safety
from triage.lexicon import cue_features
from triage.text import katakana_reading, normalize, romaji_reading, signals
from triage.tokens import word_tokens

CHAR_NGRAMS = (1, 2, 3)


@dataclass(frozen=True)
class Analysed:
    normalized: str
    words: list[str]
    features: list[str]
    safety: safety.SafetyFinding

    @property
    def joking(self) -> bool:
        return any(f in self.features for f in ("<joking>", "<hyperbole>", "<laugh>"))


def analyse(text: str, channel: str | None = None) -> Analysed:
    normalized = normalize(text)
    reading = romaji_reading(normalized) or katakana_reading(normalized)
    # Romaji (and katakana-only writing) is read into hiragana as well, so that words and crisis rules see
    # the Japanese they know.
    readable = f"{normalized} {reading}" if reading else normalized
    words = word_tokens(readable)
    feats: list[str] = [f"w:{w}" for w in words]
    feats += [f"b:{a}_{b}" for a, b in itertools.pairwise(words)]
    compact = readable.replace(" ", "")
    for n in CHAR_NGRAMS:
        feats += [f"c:{compact[i : i + n]}" for i in range(len(compact) - n + 1)]
    feats += signals(normalized)
    feats += cue_features(normalized)
    finding = safety.check(readable)
    feats += safety.markers(readable, finding)
    if channel:
        feats.append(f"ch:{channel}")
    return Analysed(normalized=normalized, words=words, features=feats, safety=finding)


class Vectorizer:
    """TF-IDF over analysed features (sublinear tf, smoothed idf, l2 norm)."""

    def __init__(self, vocabulary: dict[str, int], idf: np.ndarray) -> None:
        self.vocabulary = vocabulary
        self.idf = idf
        self.terms = [""] * len(vocabulary)
        for term, index in vocabulary.items():
            self.terms[index] = term
        self._unseen_idf = float(idf.max()) if len(idf) else 1.0

    def word_weight(self, word: str) -> float:
        """A Sudachi word's idf; a word the corpus never had weighs as the rarest one did."""
        i = self.vocabulary.get(f"w:{word}")
        return float(self.idf[i]) if i is not None else self._unseen_idf

    @classmethod
    def fit(cls, documents: Sequence[list[str]], *, min_df: int = 2) -> Vectorizer:
        df: Counter[str] = Counter()
        for doc in documents:
            df.update(set(doc))
        kept = sorted(t for t, c in df.items() if c >= min_df)
        vocabulary = {t: i for i, t in enumerate(kept)}
        n = len(documents)
        idf = np.array([math.log((1 + n) / (1 + df[t])) + 1.0 for t in kept], dtype=np.float64)
        return cls(vocabulary, idf)

    def vector(self, features: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
        """(indices, values) of one document's sparse, l2-normalised vector."""
        counts = Counter(f for f in features if f in self.vocabulary)
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        idx = np.fromiter((self.vocabulary[t] for t in counts), dtype=np.int64, count=len(counts))
        tf = np.fromiter((1.0 + math.log(c) for c in counts.values()), dtype=np.float64, count=len(counts))
        values = tf * self.idf[idx]
        values /= np.linalg.norm(values)
        return idx, values

    def matrix(self, documents: Sequence[list[str]]) -> sparse.csr_matrix:
        indptr, indices, data = [0], [], []
        for doc in documents:
            idx, values = self.vector(doc)
            order = np.argsort(idx)
            indices.append(idx[order])
            data.append(values[order])
            indptr.append(indptr[-1] + len(idx))
        return sparse.csr_matrix(
            (
                np.concatenate(data) if data else np.zeros(0),
                np.concatenate(indices) if indices else np.zeros(0, dtype=np.int64),
                np.array(indptr),
            ),
            shape=(len(documents), len(self.vocabulary)),
        )
