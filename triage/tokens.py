"""SudachiPy tokens (normalised forms fold spelling variants: 子供/こども/子ども → 子供)."""

from __future__ import annotations

import threading
from typing import Any

from triage.text import chunks_for_sudachi

_SKIP_POS = {"空白", "補助記号"}
_local = threading.local()


def _tokenizer() -> Any:
    # One tokenizer per thread: Sudachi's tokenizer object is not safe to share between threads.
    tok = getattr(_local, "tokenizer", None)
    if tok is None:
        from sudachipy import Dictionary, SplitMode

        tok = Dictionary(dict="core").tokenizer(mode=SplitMode.C)
        _local.tokenizer = tok
    return tok


def word_tokens(normalized: str) -> list[str]:
    """Normalised forms of content and function words; punctuation dropped, kaomoji kept as symbols."""
    tok = _tokenizer()
    out: list[str] = []
    for chunk in chunks_for_sudachi(normalized):
        for m in tok.tokenize(chunk):
            pos = m.part_of_speech()[0]
            if pos in _SKIP_POS:
                continue
            out.append(m.normalized_form())
    return out
