"""No LINE user ID and no message text in logs, in Redis, or in metrics; the profile API is never called."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest

from koe.runtime import Runtime
from tests.line_platform import LinePlatform, line_platform

SECRET_WORDS = "だれにも言わないでほしいんだけど"


@pytest.fixture
def line(runtime: Runtime) -> Iterator[LinePlatform]:
    with line_platform(runtime) as platform:
        yield platform


def test_nothing_identifying_leaves_the_database(
    line: LinePlatform, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    pupil = line.new_pupil()
    line.send(pupil, "follow")
    line.send(pupil, "text", text=SECRET_WORDS)
    line.send(pupil, "sticker")
    line.work()
    assert any(SECRET_WORDS in m.get("text", "") for m in line.chat(pupil))  # it really went through

    # Everything logged on Koe's side; the test's own HTTP client and the emulator (LINE's side) are not Koe.
    theirs = ("httpx", "httpcore", "line_emulator")
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(theirs))
    assert "inbox event handled" in logged  # the logs are there, just not the private parts
    assert pupil not in logged and SECRET_WORDS not in logged

    redis = line.rt.redis
    dump = b"".join(
        redis.dump(key) or b"" for key in redis.scan_iter(count=1000) if redis.type(key) != b"none"
    ).decode("utf-8", "replace")
    assert pupil not in dump and SECRET_WORDS not in dump

    metrics = httpx.get(f"{line.koe.url}/metrics").text
    assert "koe_webhook_seconds" in metrics and pupil not in metrics
    assert line.http.get("/emulator/calls/profile-count").json()["count"] == 0
