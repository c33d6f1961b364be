"""The labelled corpus: loading, checking, and the fixed train/dev/test split (by a hash of each ID)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from triage.labels import RISKS, TOPICS, Risk

CORPUS_DIR = Path(__file__).parent / "corpus"
# Messages written apart from the corpus, by another writer in other styles: never trained on.
HELDOUT_DIR = Path(__file__).parent / "heldout"
Split = Literal["train", "dev", "test"]
CHANNELS = ("youth", "resident")
FIELDS = {"id", "text", "channel", "topics", "risk", "tags"}


@dataclass(frozen=True)
class Example:
    id: str
    text: str
    channel: str
    topics: tuple[str, ...]
    risk: Risk
    tags: tuple[str, ...] = ()

    @property
    def split(self) -> Split:
        return split_of(self.id)


class CorpusError(ValueError):
    pass


def split_of(example_id: str) -> Split:
    """70 % train, 15 % dev, 15 % test, fixed forever by the ID alone."""
    bucket = int(hashlib.sha256(example_id.encode()).hexdigest()[:8], 16) % 100
    return "train" if bucket < 70 else "dev" if bucket < 85 else "test"


def parse(line: str, where: str) -> Example:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CorpusError(f"{where}: not JSON ({exc.msg})") from None
    if not isinstance(row, dict) or set(row) != FIELDS:
        raise CorpusError(f"{where}: fields must be exactly {sorted(FIELDS)}")
    topics, risk, channel = row["topics"], row["risk"], row["channel"]
    if not isinstance(row["text"], str) or not row["text"].strip():
        raise CorpusError(f"{where}: empty text")
    if channel not in CHANNELS:
        raise CorpusError(f"{where}: channel must be youth or resident")
    if not isinstance(topics, list) or not 1 <= len(topics) <= 3 or any(t not in TOPICS for t in topics):
        raise CorpusError(f"{where}: topics must be 1-3 codes of taxonomy.md")
    if "other" in topics and len(topics) > 1:
        raise CorpusError(f"{where}: 'other' stands alone")
    if len(set(topics)) != len(topics):
        raise CorpusError(f"{where}: a topic is repeated")
    if risk not in [str(r) for r in RISKS]:
        raise CorpusError(f"{where}: risk must be low, medium, high or urgent")
    if not isinstance(row["tags"], list) or not all(isinstance(t, str) for t in row["tags"]):
        raise CorpusError(f"{where}: tags must be a list of strings")
    return Example(row["id"], row["text"], channel, tuple(topics), Risk(risk), tuple(row["tags"]))


def load(directory: Path = CORPUS_DIR) -> list[Example]:
    examples: list[Example] = []
    for path in sorted(directory.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                examples.append(parse(line, f"{path.name}:{number}"))
    ids = [e.id for e in examples]
    if len(set(ids)) != len(ids):
        raise CorpusError("corpus IDs are not unique")
    return examples


def data_hash(examples: Iterable[Example]) -> str:
    """Identifies exactly what a model learnt from."""
    digest = hashlib.sha256()
    for e in sorted(examples, key=lambda e: e.id):
        record = [e.id, e.text, e.channel, list(e.topics), str(e.risk)]
        digest.update(json.dumps(record, ensure_ascii=False).encode())
        digest.update(b"\n")
    return digest.hexdigest()
