"""Normalising Japanese chat text: width, repeats and long vowels folded; laughter, emoji and kaomoji kept as
signals (they are often what tells a joke from a cry for help)."""

from __future__ import annotations

import re
import unicodedata

# Sudachi refuses input over about 49,149 bytes; chunks stay well below.
SUDACHI_MAX_BYTES = 40_000

_REPEATS = re.compile(r"(.)\1{2,}")  # ああああ → ああ, ！！！！ → ！！
_LONG_VOWELS = re.compile(r"[ー〜~－]{2,}")
_LAUGH = re.compile(r"(?<![a-z])w{2,}(?![a-z])|(?<![a-z])w$|[草笑](?=\s|$|[。、!?！？)])|\(笑\)")
_EMOJI = re.compile(
    "[\U0001f300-\U0001faff\U00002600-\U000027bf\U0001f000-\U0001f2ff\U0001f900-\U0001f9ff\u2764\u2763]"
)
# Kaomoji: a bracketed face with eye/mouth characters, or a few common bare ones.
_KAOMOJI = re.compile(r"[(\（][^()\（\）\n]{1,14}[)\）]|orz|otz|tot|t_t|;_;|\^_\^|>_<", re.IGNORECASE)
_KAOMOJI_INNER = re.compile(r"[´｀`;；ω_＿^＾TｰДд・゜°∀▽﹏><≧≦*＊]")
_SPACE = re.compile(r"[ \t\u3000]+")


def normalize(text: str) -> str:
    """NFKC (full/half width), lower-case Latin, folded repeats and long vowels, one space between words."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _LONG_VOWELS.sub("ー", text)
    text = _REPEATS.sub(r"\1\1", text)
    text = _SPACE.sub(" ", text)
    return text.strip()


def signals(normalized: str) -> list[str]:
    """Marker features that tokenisers lose: laughter, emoji (each kept as itself), kaomoji."""
    found: list[str] = []
    if _LAUGH.search(normalized):
        found.append("<laugh>")
    found.extend(f"<emoji:{e}>" for e in _EMOJI.findall(normalized))
    for face in _KAOMOJI.findall(normalized):
        if face.lower() in {"orz", "otz", "tot", "t_t", ";_;", "^_^", ">_<"} or _KAOMOJI_INNER.search(face):
            found.append("<kaomoji>")
            if re.search(r"[;；]|T_T|tot|´_ゝ`|´・ω・`", face, re.IGNORECASE):
                found.append("<kaomoji:tears>")
    return found


_LATIN_WORD = re.compile(r"[a-z]+")
# One syllable at a time, each way of reading it unique, so matching is linear (no backtracking blow-up).
_SYLLABLE = re.compile(r"(?:sh|ch|ts|[kgsztdnhbpmyrwfjcv]y?)?[aiueo]|n(?![aiueoy])|([kstpgdbcmr])(?=\1)")
MAX_ROMAJI_WORD = 40


def _is_romaji(word: str) -> bool:
    if len(word) > MAX_ROMAJI_WORD:
        return False
    position = 0
    while position < len(word):
        m = _SYLLABLE.match(word, position)
        if m is None or m.end() == position:
            return False
        position = m.end()
    return True


def romaji_reading(normalized: str) -> str | None:
    """Japanese typed in the Latin alphabet (kyou no yoru…), read into kana, or None if it is not that."""
    words = _LATIN_WORD.findall(normalized)
    romaji = [w for w in words if len(w) >= 2 and _is_romaji(w)]
    # One long word will do (shinitai); short ones must be most of the Latin words (not "line" or "sns").
    if not romaji or (len(romaji) < 2 and max(map(len, romaji)) < 6) or len(romaji) < 0.6 * len(words):
        return None
    import jaconv

    # "konya" is 今夜 far more often than こにゃ: read a vowel + n + y as ん + や/ゆ/よ.
    reading: str = jaconv.alphabet2kana(re.sub(r"(?<=[aiueo])n(?=y[aiueo])", "n'", normalized))
    return reading


_KATAKANA = re.compile(r"[\u30a1-\u30fa]")
_KANA_OR_KANJI = re.compile(r"[\u3041-\u3096\u30a1-\u30fa\u4e00-\u9fff]")


def katakana_reading(normalized: str) -> str | None:
    """A message written in katakana alone (older residents often do) read into hiragana, so that words and
    crisis rules see the same text as in hiragana; None for ordinary text with a few loanwords."""
    katakana = len(_KATAKANA.findall(normalized))
    if katakana < 6 or katakana < 0.7 * len(_KANA_OR_KANJI.findall(normalized)):
        return None
    import jaconv

    reading: str = jaconv.kata2hira(normalized)
    return reading


def chunks_for_sudachi(text: str, limit: int = SUDACHI_MAX_BYTES) -> list[str]:
    """Split long text at line or sentence ends (anywhere, as a last resort) into pieces Sudachi accepts."""
    if len(text.encode("utf-8")) <= limit:
        return [text] if text else []
    pieces: list[str] = []
    current = ""
    for part in re.split(r"(?<=[\n。！？!?])", text):
        while len(part.encode("utf-8")) > limit:  # one endless sentence: cut by characters
            cut = limit // 4  # at most 4 bytes a character in UTF-8
            pieces.append(part[:cut])
            part = part[cut:]
        if len((current + part).encode("utf-8")) > limit:
            pieces.append(current)
            current = part
        else:
            current += part
    if current:
        pieces.append(current)
    return [p for p in pieces if p]
