"""`koe triage train | eval | predict`: triage without a server."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable
from typing import TextIO

from koe.settings import Settings
from triage import corpus
from triage.evaluation import evaluate, format_report
from triage.labels import Risk
from triage.model import ModelIntegrityError, TriageModel
from triage.registry import ModelRegistry, NoModel
from triage.training import train
from triage.vectors import WordVectors


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def current_or_trained(settings: Settings) -> TriageModel:
    """The promoted model; on a fresh machine, train one first (deterministic, about a minute)."""
    registry = ModelRegistry(settings.resolved_triage_dir)
    try:
        return registry.load_current()
    except NoModel:
        _say("トリアージのモデルがまだないので、いま学習します（はじめの一回だけ、1分ほど）…")
        run_train(settings, with_corrections=False)
        return registry.load_current()


def corrections_from_database(settings: Settings) -> list[corpus.Example]:
    """Counsellors' corrections, with the text of the message they corrected (while it is still kept)."""
    from sqlalchemy import select

    from koe.db import make_engine, make_sessionmaker
    from models import Consultation, Message, TriageCorrection

    engine = make_engine(settings.resolved_database_url)
    try:
        with make_sessionmaker(engine)() as session:
            rows = session.execute(
                select(TriageCorrection, Message.text, Consultation.desk)
                .join(Message, Message.id == TriageCorrection.message_id)
                .join(Consultation, Consultation.id == Message.consultation_id)
                .where(Message.text.is_not(None))
                .order_by(TriageCorrection.id)
            ).all()
    finally:
        engine.dispose()
    latest: dict[int, corpus.Example] = {}  # the last correction of a message wins
    for correction, text, desk in rows:
        latest[correction.message_id] = corpus.Example(
            id=f"correction-{correction.message_id}",
            text=text or "",
            channel=desk,
            topics=tuple(correction.topics),
            risk=Risk(str(correction.risk)),
            tags=("correction",),
        )
    return list(latest.values())


# The ja-ginza release whose word vectors Koe reads (pip checks the download against PyPI's hash; Koe
# checks it again against the one it was built with).
GINZA = "ja-ginza==5.3.0"
GINZA_WHEEL_SHA256 = "ac6479a805c5c5c23c270554934c1c1f344039560ef3a7e4b15a4275bea3c685"


def word_vectors(settings: Settings) -> WordVectors | None:
    path = settings.resolved_vectors_path
    if not path.exists():
        return None
    try:
        return WordVectors.load(path)
    except (OSError, ValueError, KeyError) as exc:
        _say(
            f"単語ベクトル {path} を読めませんでした（{type(exc).__name__}）。"
            "`koe triage vectors` で取り直せます。"
        )
        return None


def run_vectors(settings: Settings) -> int:
    """Fetch ja-ginza's wheel (without installing it or spaCy) and keep only its word vectors."""
    import hashlib
    import subprocess
    import tempfile
    from pathlib import Path

    from triage.vectors import extract_from_wheel

    target = settings.resolved_vectors_path
    if target.exists():
        _say(f"単語ベクトルはもうあります: {target}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        _say(f"[1/2] {GINZA} を PyPI から取得しています（約 60 MB、はじめの一回だけ）…")
        fetched = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "-q",
                GINZA,
                "-d",
                tmp,
            ],
            check=False,
        )
        wheels = sorted(Path(tmp).glob("ja_ginza-*.whl"))
        if fetched.returncode != 0 or not wheels:
            _say(
                "取得できませんでした。ネットワークを確かめて、"
                "もう一度 `koe triage vectors` を実行してください。"
                "単語ベクトルなしでも学習はできます（トピックの精度が少し下がります）。"
            )
            return 1
        digest = hashlib.sha256(wheels[0].read_bytes()).hexdigest()
        if digest != GINZA_WHEEL_SHA256:
            _say(f"取得したファイルのハッシュが想定と違います（{digest}）。使いません。")
            return 1
        _say("[2/2] 単語ベクトルを取り出しています…")
        vectors = extract_from_wheel(wheels[0])
        vectors.save(target)
    _say(f"保存しました: {target}（{len(vectors.keys):,} 語、{vectors.table.shape[0]:,} 行）")
    return 0


def run_train(settings: Settings, *, with_corrections: bool) -> int:
    registry = ModelRegistry(settings.resolved_triage_dir)
    started = time.monotonic()
    _say("[1/4] コーパスを読み込んでいます…")
    examples = corpus.load()
    extra = corrections_from_database(settings) if with_corrections else []
    vectors = word_vectors(settings)
    _say(f"      {len(examples)} 件のメッセージ、相談員による修正 {len(extra)} 件")
    if vectors is None:
        _say("      単語ベクトルがないため、なしで学習します（`koe triage vectors` で取得できます）。")
    _say("[2/4] 形態素解析と学習をしています…")
    trained = train(examples, corrections=extra, vectors=vectors)
    _say("[3/4] 固定のテスト用データで評価しました:")
    _say(format_report(trained.test))
    new_recall = trained.test.urgent_recall
    current = registry.current_version()
    if current is not None and current != trained.model.version:
        test_set = [e for e in examples if e.split == "test"]
        try:
            old = TriageModel.load(registry.path_of(current))
            old_recall = evaluate(test_set, lambda e: old.predict(e.text, e.channel)).urgent_recall
        except (OSError, ValueError, KeyError, ModelIntegrityError):
            old_recall = 0.0  # unreadable or tampered with: anything is better
        if new_recall < old_recall:
            registry.save(trained.model)
            _say(
                f"[4/4] 新しいモデル {trained.model.version} は保存しましたが、採用しません: 緊急の再現率が "
                f"{old_recall:.3f} → {new_recall:.3f} に下がるためです。今のモデル {current} を使い続けます。"
            )
            return 1
    registry.save(trained.model)
    registry.promote(trained.model.version)
    _say(f"[4/4] モデル {trained.model.version} を採用しました（{time.monotonic() - started:.0f} 秒）。")
    return 0


def run_eval(settings: Settings, split: str) -> int:
    model = current_or_trained(settings)
    if split == "heldout":  # written apart from the corpus, never trained on
        examples = corpus.load(corpus.HELDOUT_DIR)
    else:
        examples = [e for e in corpus.load() if split == "all" or e.split == split]
    report = evaluate(examples, lambda e: model.predict(e.text, e.channel))
    print(f"model {model.version}, split {split}")
    print(format_report(report))
    return 0


def _predictions(model: TriageModel, lines: Iterable[str]) -> Iterable[dict[str, object]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        item: object = None
        try:
            item = json.loads(line)
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                raise ValueError("each line needs a JSON object with a string 'text'")
            channel = item.get("channel")
            if channel not in (None, "youth", "resident"):
                raise ValueError("channel must be youth or resident")
        except ValueError as exc:
            identifier = item.get("id") if isinstance(item, dict) else None
            yield {"id": identifier, "line": number, "error": str(exc)}
            continue
        assert isinstance(item, dict)
        try:
            result = model.predict(item["text"], channel)
        except (ValueError, UnicodeError) as exc:  # e.g. a lone surrogate: report it, go on with the rest
            yield {
                "id": item.get("id"),
                "line": number,
                "error": f"cannot read this text ({type(exc).__name__})",
            }
            continue
        yield {
            "id": item.get("id"),
            "topics": result.topics,
            "risk": str(result.risk),
            "risk_scores": result.risk_scores,
            "evidence": [e.label for e in result.evidence][:8],
            "model_version": result.model_version,
        }


def run_predict(
    settings: Settings, text: str | None, *, jsonl: bool, channel: str | None, out: TextIO
) -> int:
    model = current_or_trained(settings)
    if jsonl:
        for prediction in _predictions(model, sys.stdin):
            out.write(json.dumps(prediction, ensure_ascii=False) + "\n")
            out.flush()
        return 0
    if not text:
        _say("判定する文章を引数で渡すか、--jsonl で標準入力から JSON Lines を渡してください。")
        return 2
    print(json.dumps(model.predict(text, channel).to_json(), ensure_ascii=False), file=out)
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("triage", help="topic and risk triage without a server")
    actions = parser.add_subparsers(dest="action", required=True)
    tr = actions.add_parser("train", help="train on the corpus; promote only if urgent recall does not drop")
    tr.add_argument(
        "--with-corrections", action="store_true", help="add counsellors' corrections from the database"
    )
    actions.add_parser("vectors", help="fetch the word vectors the topic heads read (once, about 60 MB)")
    ev = actions.add_parser("eval", help="evaluate the current model")
    ev.add_argument("--split", choices=["train", "dev", "test", "all", "heldout"], default="test")
    pr = actions.add_parser("predict", help="one JSON result for TEXT, or JSON Lines with --jsonl")
    pr.add_argument("text", nargs="?")
    pr.add_argument(
        "--jsonl", action="store_true", help="read {id, text, channel?} lines from standard input"
    )
    pr.add_argument("--channel", choices=["youth", "resident"])


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "train":
        return run_train(settings, with_corrections=args.with_corrections)
    if args.action == "eval":
        return run_eval(settings, args.split)
    if args.action == "vectors":
        return run_vectors(settings)
    return run_predict(settings, args.text, jsonl=args.jsonl, channel=args.channel, out=sys.stdout)
