"""Retraining with counsellors' corrections, through the same command, behind the urgent-recall gate."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from koe import triage_cli
from koe.app import create_app
from koe.runtime import Runtime
from koe.settings import Settings
from models import Message, RiskLevel, TriageCorrection
from tests import line_events as le
from tests.intake import process
from triage import corpus
from triage.evaluation import Report, evaluate
from triage.labels import Risk
from triage.registry import ModelRegistry
from triage.training import Trained


@pytest.fixture
def own_registry(runtime: Runtime, triage_dir: Path, tmp_path: Path) -> ModelRegistry:
    """A copy of the session's model store, so that promotions here do not touch other tests."""
    copy = tmp_path / "triage"
    shutil.copytree(triage_dir, copy)
    runtime.settings.triage_dir = copy
    return ModelRegistry(copy)


def test_corrections_join_training_and_the_model_is_promoted(
    runtime: Runtime, own_registry: ModelRegistry
) -> None:
    client = TestClient(create_app(runtime))
    process(client, runtime, "youth", le.text_event(le.user_id(), "ぶかつのせんぱいにおかねとられた"))
    with runtime.sessions() as s, s.begin():
        message = s.scalars(select(Message).where(Message.author == "sender")).one()
        s.add(TriageCorrection(message_id=message.id, topics=["bullying", "school"], risk=RiskLevel.high))
    (example,) = triage_cli.corrections_from_database(runtime.settings)
    assert example.topics == ("bullying", "school") and example.risk == Risk.high
    assert example.channel == "youth"

    before = own_registry.current_version()
    assert triage_cli.run_train(runtime.settings, with_corrections=True) == 0
    after = own_registry.current_version()
    assert after is not None and after != before  # new data, new version
    assert own_registry.load_current().meta["corrections"] == 1


def test_a_model_that_would_miss_urgent_messages_is_not_promoted(
    triage_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No database is involved: corrections are not asked for, so this runs once, not once per backend.
    copy = tmp_path / "triage"
    shutil.copytree(triage_dir, copy)
    own_registry = ModelRegistry(copy)
    settings = Settings(_env_file=None, KOE_VAR_DIR=tmp_path / "var", KOE_TRIAGE_DIR=copy)
    before = own_registry.current_version()

    def train_badly(
        examples: list[corpus.Example], *, corrections: list[corpus.Example], **_: object
    ) -> Trained:
        # As if bad corrections had taught the model to shrug at danger: its high and urgent heads go quiet.
        # (The current model, spoiled so, stands for the retrained one: no need to train for a minute.)
        model = own_registry.load_current()
        model.risk_intercept[1:] = -50.0
        model.version = "triage-that-misses"

        def report(split: str) -> Report:
            chosen = [e for e in examples if e.split == split]
            return evaluate(chosen, lambda e: model.predict(e.text, e.channel))

        return Trained(model=model, dev=report("dev"), test=report("test"))

    monkeypatch.setattr(triage_cli, "train", train_badly)
    assert triage_cli.run_train(settings, with_corrections=False) == 1
    assert own_registry.current_version() == before  # the old model stays in service
    assert (own_registry.path_of("triage-that-misses") / "model.json").exists()  # kept for a look
