"""The safety layer on the hard cases of shared/taxonomy.md: it raises real danger, and jokes stay quiet."""

from __future__ import annotations

import pytest

from triage import safety
from triage.labels import Risk
from triage.text import normalize


@pytest.mark.parametrize(
    ("text", "floor"),
    [
        ("今夜飛び降りる", Risk.urgent),
        ("薬を全部飲んだ", Risk.urgent),
        ("友達が今から死ぬってLINEしてきた", Risk.urgent),
        ("明日の朝はもう来ないと思う", Risk.urgent),
        ("今お父さんが暴れてて怖い", Risk.urgent),
        ("今夜泊まるところがない", Risk.urgent),
        ("きょうネットで知り合った人と会うことになった", Risk.urgent),
        ("手首切ってて血が止まらない", Risk.urgent),
        ("しにたい", Risk.high),
        ("もう全部終わりにしたい", Risk.high),
        ("生きてる意味ない", Risk.high),
        ("家に帰りたくない帰ると何されるかわからない", Risk.high),
        ("３日なにも食べてない", Risk.high),
        ("リスカしちゃった", Risk.high),
        ("ﾘｽｶやめられない", Risk.high),
    ],
)
def test_danger_raises_the_floor(text: str, floor: Risk) -> None:
    finding = safety.check(normalize(text))
    assert finding.floor == floor
    assert finding.evidence and all(e.kind == "rule" and e.note for e in finding.evidence)


@pytest.mark.parametrize(
    "text",
    [
        "テスト死んだｗ",
        "部活きつすぎて死ぬ",
        "推しが尊すぎて死ぬ",
        "ゲームで殺された",
        "きょうのテストでしぬ",
        "死ぬほど眠い",
        "笑い死ぬかと思ったｗｗ",
        "死にたいとかじゃないけど…ちょっと疲れた",
        "もう自傷はやめて1年たつ",
        "消えたいｗｗ（うそ）",
        "宿題多すぎて今日死ぬ笑",
    ],
)
def test_jokes_negation_and_the_past_do_not_fire(text: str) -> None:
    assert safety.check(normalize(text)).floor == Risk.low


def test_evidence_points_at_the_words() -> None:
    normalized = normalize("もうむり。今夜飛び降りる")
    (first, *_rest) = safety.check(normalized).evidence
    assert first.span is not None and first.matched is not None
    assert normalized[first.span[0] : first.span[1]] == first.matched
    assert "飛び降りる" in first.matched
