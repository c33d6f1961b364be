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


@pytest.mark.parametrize(
    "text",
    [
        # A joke in one sentence, a plan in the next:
        "部活きつすぎて死ぬかと思った。でも本当は今夜飛び降りるつもり",
        "いじめられて恥ずかしい。明日死ぬ",
        "あしたしぬ",
        "今日死ぬ！",
        "もう飛び降りるしかない",  # しかない is not a negation
        "うちのおじいちゃんが倒れて息してない",
        "konya tobioriru",  # romaji
        "kyou shinu",
        "クラスの子のSNSに遺書みたいなのが上がってた",
        "もう いきるの つかれました。きょう かわに いきます",
        "もう3日ごはん食べてない。お母さん帰ってこない",
    ],
)
def test_plans_are_not_hidden_by_jokes_elsewhere_or_by_spelling(text: str) -> None:
    from triage.features import analyse

    assert analyse(text).safety.floor == Risk.urgent


@pytest.mark.parametrize(
    "text",
    [
        "好きな気持ちが止まらない",
        "鼻血が止まらない",
        "今日のテストgoodだった",
        "スマホが動かないどうしよう",
        "部活でぐったりしてる",
        "サッカーでボール蹴ってる",
        "今日は遊びに行くところがない、ひま",
        "キャンプで野宿した",
        "ゲーム好きな友達と放課後会う",
        "先生いままでありがとう",
        "卒業式でみんなにさよならした",
        "自殺する人ってどんな気持ち？",
        "ママになぐさめてもらった",
        "父に叩かれたことは一度もない",
        "ドミノが倒れてる",
        "今日は家族で川に行きます",
        "お母さん今日は仕事で帰ってこない、夕飯はカレー",
    ],
)
def test_everyday_words_do_not_fire_crisis_rules(text: str) -> None:
    assert safety.check(normalize(text)).floor == Risk.low


def test_a_message_that_only_looks_like_romaji_is_not_read() -> None:
    from triage.text import romaji_reading

    # With a backtracking pattern this input took seconds per character pair; the reader is linear now.
    assert romaji_reading(normalize("hai " + "na" * 5000 + "h")) is None
    assert romaji_reading(normalize("shinitai")) == "しにたい"
    assert romaji_reading(normalize("line de sns")) is None
