"""`koe triage predict`, as a script or a pipeline would call it, with no server running."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def koe(triage_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KOE_TRIAGE_DIR": str(triage_dir), "KOE_VAR_DIR": str(triage_dir.parent / "var")}
    return subprocess.run(
        [sys.executable, "-m", "koe.cli", "triage", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_predict_one_text_prints_one_json_result(triage_dir: Path) -> None:
    done = koe(triage_dir, "predict", "今夜飛び降りる", "--channel", "youth")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["risk"] == "urgent" and "suicide_selfharm" in result["topics"]
    assert result["model_version"].startswith("triage-") and result["evidence"]


def test_predict_jsonl_keeps_order_and_reports_bad_lines(triage_dir: Path) -> None:
    lines: list[dict[str, str] | str] = [
        {"id": "m1", "text": "テスト死んだｗ", "channel": "youth"},
        {"id": "m2", "text": "借金の返済が追いつかず、生活が苦しいです", "channel": "resident"},
        "this is not json",
        {"id": "m4", "text": "友達が今から死ぬってLINEしてきた"},
        {"id": "m5", "text": "x", "channel": "school"},
    ]
    stdin = "\n".join(json.dumps(x, ensure_ascii=False) if isinstance(x, dict) else x for x in lines) + "\n"
    done = koe(triage_dir, "predict", "--jsonl", stdin=stdin)
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert [o.get("id") for o in out] == ["m1", "m2", None, "m4", "m5"]
    assert out[0]["risk"] == "low" and out[3]["risk"] == "urgent"
    assert "money" in out[1]["topics"]
    assert "error" in out[2] and out[2]["line"] == 3
    assert "channel" in out[4]["error"]
    for o in (out[0], out[1], out[3]):
        assert set(o["topics"]) and o["risk"] in {"low", "medium", "high", "urgent"}
