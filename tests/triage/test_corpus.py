"""The labelled corpus: its schema, its size and balance, and the fixed split."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from triage import corpus
from triage.labels import RISKS, TOPICS, Risk

HARD_TAGS = {"hyperbole", "joke", "negation", "past", "euphemism", "third_party", "question", "mixed"}


@pytest.fixture(scope="module")
def examples() -> list[corpus.Example]:
    return corpus.load()


def test_every_line_follows_the_schema(examples: list[corpus.Example]) -> None:
    # corpus.load() raises on any malformed line; here, what it cannot check line by line.
    texts = Counter(e.text.strip() for e in examples)
    assert [t for t, n in texts.items() if n > 1] == []


def test_size_and_both_desks(examples: list[corpus.Example]) -> None:
    assert len(examples) >= 4000
    channels = Counter(e.channel for e in examples)
    assert channels["youth"] >= 2000 and channels["resident"] >= 800


def test_every_topic_is_well_represented(examples: list[corpus.Example]) -> None:
    counts = Counter(t for e in examples for t in e.topics)
    thin = {t: counts[t] for t in TOPICS if counts[t] < 80}
    assert thin == {}


def test_all_risk_levels_with_enough_high_and_urgent(examples: list[corpus.Example]) -> None:
    counts = Counter(e.risk for e in examples)
    assert set(counts) == set(RISKS)
    assert counts[Risk.urgent] >= 300 and counts[Risk.high] >= 500


def test_at_least_five_hundred_hard_cases(examples: list[corpus.Example]) -> None:
    hard = [e for e in examples if HARD_TAGS & set(e.tags)]
    assert len(hard) >= 500
    jokes = [e for e in hard if {"hyperbole", "joke"} & set(e.tags)]
    assert len(jokes) >= 150


def test_the_split_is_fixed_and_every_part_has_every_risk(examples: list[corpus.Example]) -> None:
    assert corpus.split_of("a-0001") == corpus.split_of("a-0001")
    by_split = Counter(e.split for e in examples)
    assert by_split["train"] > by_split["dev"] > 0 and by_split["test"] > 0
    for split in ("dev", "test"):
        risks = Counter(e.risk for e in examples if e.split == split)
        assert risks[Risk.urgent] >= 30, f"{split} has too few urgent examples to measure recall"


def test_a_bad_line_is_refused_with_its_place() -> None:
    def line(topics: str) -> str:
        row = {
            "id": "x",
            "text": "a",
            "channel": "youth",
            "topics": json.loads(topics),
            "risk": "low",
            "tags": [],
        }
        return json.dumps(row)

    with pytest.raises(corpus.CorpusError, match=r"x\.jsonl:3"):
        corpus.parse(line('["nope"]'), "x.jsonl:3")
    with pytest.raises(corpus.CorpusError, match="stands alone"):
        corpus.parse(line('["other", "school"]'), "x.jsonl:1")
    assert corpus.parse(line('["school"]'), "x.jsonl:1").topics == ("school",)
