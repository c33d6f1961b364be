"""The evidence behind a triage result, marked in the message as the counsellor reads it."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from markupsafe import Markup, escape


def highlight(text: str, terms: Iterable[str]) -> Markup:
    """`text` escaped, with each occurrence of the terms in <mark>. Terms come from the normalised text
    (NFKC, lower case), so they are looked for in a folded copy of the same length where folding keeps
    lengths, and left unmarked where it does not."""
    folded = _fold(text)
    if len(folded) != len(text):
        folded = text
    marks = [False] * len(text)
    for term in {t for t in terms if (t and len(t) >= 2) or (t and not t.isascii())}:
        start = folded.find(term)
        while start >= 0:
            for i in range(start, start + len(term)):
                marks[i] = True
            start = folded.find(term, start + len(term))
    out: list[Markup] = []
    i = 0
    while i < len(text):
        j = i
        while j < len(text) and marks[j] == marks[i]:
            j += 1
        out.append(Markup("<mark>{}</mark>").format(text[i:j]) if marks[i] else escape(text[i:j]))
        i = j
    return Markup("").join(out)


def _fold(text: str) -> str:
    """Width and case folded one character at a time, so positions stay those of the original."""
    return "".join(_fold_char(c) for c in text)


def _fold_char(c: str) -> str:
    folded = unicodedata.normalize("NFKC", c).lower()
    return folded if len(folded) == 1 else c
