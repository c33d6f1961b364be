"""A first look at a text message as it arrives: does it already read as a crisis? Only the safety layer's
readable rules, on the normalised text (well under a millisecond); no model. A message that looks urgent
skips the line of everyday messages to the worker, so that a burst of messages cannot hold up a page. The
worker's full triage decides; a message this misses is paged in its turn all the same."""

from __future__ import annotations

from typing import Any

from triage.labels import Risk
from triage.safety import check
from triage.text import normalize

MAX_CHARS = 2000  # longer texts go the usual way: the first look stays cheap


def looks_urgent(raw: dict[str, Any], *, at_least: Risk = Risk.urgent) -> bool:
    message = raw.get("message")
    if raw.get("type") != "message" or not isinstance(message, dict) or message.get("type") != "text":
        return False
    text = message.get("text")
    if not isinstance(text, str) or len(text) > MAX_CHARS:
        return False
    return check(normalize(text)).floor.rank >= at_least.rank
