"""A page in a real browser: the banner appears on whatever page the counsellor is on, without a reload,
with a sound and a browser notification; it stays until acknowledged; "受けます" takes the case."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from koe.runtime import Runtime
from models import Consultation, Page, PageState
from tests.browser.test_console_browser import sign_in
from tests.line_platform import LinePlatform, line_platform
from tests.paging.helpers import on_duty_now
from tests.processes import kill_group, start_koe
from tests.services import on_one_backend

pytestmark = pytest.mark.slow

# Counts what the console asks of the browser: notifications shown and tones played. Only the browser's own
# APIs are wrapped; Koe's script runs as it is.
WATCH_ALERTS = """
window.__notifications = [];
window.__tones = 0;
const RealNotification = window.Notification;
window.Notification = function (title, options) {
  window.__notifications.push({ title: title, body: options && options.body });
  return new RealNotification(title, options);
};
window.Notification.permission = "granted";
window.Notification.requestPermission = () => Promise.resolve("granted");
const realStart = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function (...args) {
  window.__tones += 1;
  return realStart.apply(this, args);
};
"""


@pytest.fixture
def line(runtime: Runtime, tmp_path: Path) -> Iterator[LinePlatform]:
    with line_platform(runtime) as platform:
        worker = start_koe(runtime.settings, "worker", log=tmp_path / "worker.log")
        try:
            yield platform
        finally:
            kill_group(worker)


def test_the_banner_sounds_notifies_and_stays_until_acknowledged(
    line: LinePlatform, runtime: Runtime, browser: Browser, screenshots: Path, database_url: str
) -> None:
    on_one_backend(database_url)
    duty = on_duty_now(runtime)
    backend = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ja-JP")
    context.add_init_script(WATCH_ALERTS)
    page = context.new_page()
    base = line.koe.url
    sign_in(page, base, "hana")
    page.goto(f"{base}/console/rosters")  # any console page will do: the banner is on all of them
    expect(page.locator(".shift.now")).to_contain_text("hanaさん")
    page.mouse.click(5, 400)  # a counsellor at work has touched the page: sound may play
    page.evaluate("window.__sameDocument = true")

    pupil = line.new_pupil()
    line.send(pupil, "follow")
    line.send(pupil, "text", text="いまから飛び降りる。もう決めた")
    banner = page.locator("#pager .page-alert")
    expect(banner).to_be_visible(timeout=20_000)
    expect(banner).to_contain_text("「緊急」")
    expect(banner).not_to_contain_text("飛び降りる")  # no words of the message on the banner
    assert page.evaluate("window.__sameDocument") is True
    notifications = page.evaluate("window.__notifications")
    assert len(notifications) == 1 and "緊急" in notifications[0]["title"]
    assert page.evaluate("window.__tones") >= 3
    page.screenshot(path=str(screenshots / f"page-banner-{backend}.png"), full_page=False)

    # It stays: the queue shows it too, until someone answers.
    page.goto(f"{base}/console/queue")
    expect(banner).to_be_visible(timeout=10_000)
    banner.get_by_role("button", name="受けます（担当して開く）").click()
    expect(page.locator(".msg.from-sender").first).to_contain_text("飛び降りる")
    expect(page.locator("#pager .page-alert")).to_have_count(0)
    with runtime.sessions() as s:
        found = s.scalars(select(Page)).one()
        consultation = s.get(Consultation, found.consultation_id)
    assert found.state == PageState.acknowledged and found.acknowledged_by_id == duty.primary
    assert consultation is not None and consultation.assigned_to_id == duty.primary
    context.close()
