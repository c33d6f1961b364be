"""Normalisation and tokenisation of chat Japanese, including text past Sudachi's input limit."""

from __future__ import annotations

from triage.features import analyse
from triage.text import chunks_for_sudachi, normalize, signals
from triage.tokens import word_tokens


def test_width_repeats_and_long_vowels_are_folded() -> None:
    assert normalize("ﾏｼﾞでﾑﾘーーーー！！！！") == "マジでムリー!!"
    assert normalize("しにたいいいいい") == "しにたいい"
    assert normalize("ＬＩＮＥ　グループ") == "line グループ"


def test_laughter_emoji_and_kaomoji_are_kept_as_signals() -> None:
    assert "<laugh>" in signals(normalize("テスト死んだｗｗｗ"))
    assert "<laugh>" in signals(normalize("ねむすぎ（笑）"))
    assert "<emoji:😭>" in signals(normalize("つらい😭"))
    assert {"<kaomoji>", "<kaomoji:tears>"} <= set(signals(normalize("もうむり(´；ω；｀)")))
    assert signals(normalize("笑顔がすき")) == []


def test_sudachi_normalised_forms_fold_spelling_variants() -> None:
    assert "子供" in word_tokens(normalize("こどもが")) or "子供" in word_tokens(normalize("子どもが"))
    assert word_tokens(normalize("死にたい"))[0] == "死ぬ"


def test_text_past_sudachis_limit_is_split_not_rejected() -> None:
    sentence = "きょうもがっこうでいやなことがあってほんとうにつらかった。"
    huge = sentence * 4000  # about 340 KB of UTF-8, far past Sudachi's 49 KB
    pieces = chunks_for_sudachi(huge)
    assert len(pieces) > 1 and all(len(p.encode()) <= 40_000 for p in pieces)
    assert "".join(pieces) == huge
    analysed = analyse(huge, "youth")
    assert analysed.words.count("学校") == 4000
    one_line = "あいうえおかきくけこ" * 20_000  # no sentence end at all
    assert "".join(chunks_for_sudachi(one_line)) == one_line
    assert analyse(one_line).features
