"""The trained model on its own test split, its files, and its determinism."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from triage import corpus
from triage.evaluation import evaluate
from triage.labels import Risk
from triage.model import ModelIntegrityError, TriageModel
from triage.registry import ModelRegistry
from triage.training import train


@pytest.fixture(scope="module")
def test_report(triage_model: TriageModel):  # type: ignore[no-untyped-def]
    test_set = [e for e in corpus.load() if e.split == "test"]
    return evaluate(test_set, lambda e: triage_model.predict(e.text, e.channel))


def test_urgent_recall(test_report) -> None:  # type: ignore[no-untyped-def]
    assert test_report.urgent_recall >= 0.98, test_report.misses


def test_high_or_above_recall(test_report) -> None:  # type: ignore[no-untyped-def]
    assert test_report.high_or_above_recall >= 0.95, test_report.misses


def test_hyperbole_rarely_pages(test_report) -> None:  # type: ignore[no-untyped-def]
    assert test_report.jokes >= 20
    assert test_report.false_urgent_on_jokes <= 0.05


def test_topic_micro_f1(test_report) -> None:  # type: ignore[no-untyped-def]
    # The aim is 0.85; the corpus and model reach about 0.80 today (0.85 on the blind held-out set).
    # This guards against going back while the work on topics goes on: raise it as the model improves.
    assert test_report.topic_micro_f1 >= 0.78


def test_results_carry_their_evidence_and_version(triage_model: TriageModel) -> None:
    result = triage_model.predict("クラスのみんなに無視されてて、もう消えたい", "youth")
    assert result.risk.rank >= Risk.high.rank
    assert "suicide_selfharm" in result.topics
    assert result.model_version == triage_model.version
    rules = [e for e in result.evidence if e.kind == "rule"]
    terms = [e for e in result.evidence if e.kind == "term"]
    assert rules and terms and all(t.weight > 0 for t in terms)
    assert set(result.risk_scores) == {"medium", "high", "urgent"}


def test_greetings_and_thanks_are_low(triage_model: TriageModel) -> None:
    for text in ("こんにちは", "はじめまして", "ありがとう"):
        assert triage_model.predict(text, "youth").risk == Risk.low, text


def test_the_taxonomy_hard_cases(triage_model: TriageModel) -> None:
    for joke in ("テスト死んだｗ", "部活きつすぎて死ぬ", "推しが尊すぎて死ぬ", "ゲームで殺された"):
        assert triage_model.predict(joke, "youth").risk == Risk.low, joke
    assert triage_model.predict("友達が今から死ぬってLINEしてきた", "youth").risk == Risk.urgent
    assert triage_model.predict("明日の朝はもう来ないと思う", "youth").risk == Risk.urgent
    assert (
        triage_model.predict("家に帰りたくない帰ると何されるかわからない", "youth").risk.rank
        >= Risk.high.rank
    )


def test_saved_model_loads_identically_and_refuses_tampering(
    triage_model: TriageModel, tmp_path: Path
) -> None:
    triage_model.save(tmp_path / "m")
    loaded = TriageModel.load(tmp_path / "m")
    text = "親に毎日どなられて家にいたくない"
    assert loaded.predict(text).to_json() == triage_model.predict(text).to_json()
    arrays = tmp_path / "m" / "arrays.npz"
    with np.load(arrays) as a:
        data = {k: a[k] for k in a.files}
    data["risk_intercept"] = data["risk_intercept"] + 1.0
    np.savez_compressed(arrays, **data)
    with pytest.raises(ModelIntegrityError):
        TriageModel.load(tmp_path / "m")


def test_training_is_deterministic(tmp_path: Path) -> None:
    # A slice of the corpus keeps this quick; two runs must agree to the last weight.
    subset = [e for e in corpus.load() if int(e.id.split("-")[-1]) % 4 == 0]
    first, second = train(subset).model, train(subset).model
    assert first.version == second.version
    assert np.array_equal(first.risk_coef, second.risk_coef)
    assert first.meta["data_hash"] == second.meta["data_hash"]


def test_registry_promotes_atomically(triage_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "triage"
    shutil.copytree(triage_dir, copy)
    registry = ModelRegistry(copy)
    version = registry.current_version()
    assert version is not None and registry.load_current().version == version
