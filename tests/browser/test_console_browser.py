"""The console in a real browser: sign in, an urgent LINE message reaches the top of the queue without a
reload, the counsellor answers and the pupil's LINE receives it, and the consultation is closed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from koe.runtime import Runtime
from models import Role
from tests.console.helpers import PASSWORD, make_user
from tests.line_platform import LinePlatform, line_platform
from tests.processes import kill_group, start_koe

pytestmark = pytest.mark.slow


@pytest.fixture
def line(runtime: Runtime, tmp_path: Path) -> Iterator[LinePlatform]:
    with line_platform(runtime) as platform:
        worker = start_koe(runtime.settings, "worker", log=tmp_path / "worker.log")
        try:
            yield platform
        finally:
            kill_group(worker)


def sign_in(page: Page, base: str, name: str) -> None:
    page.goto(f"{base}/console/queue")
    expect(page).to_have_url(f"{base}/console/login?next=/console/queue")
    page.get_by_label("ユーザー名").fill(name)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    expect(page.get_by_role("heading", name="相談一覧")).to_be_visible()


def wait_for(predicate, what: str, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen")


def test_urgent_message_reply_and_close(
    line: LinePlatform, runtime: Runtime, browser: Browser, screenshots: Path, database_url: str
) -> None:
    make_user(runtime, "aoi", Role.counsellor)
    backend = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ja-JP")
    page = context.new_page()
    base = line.koe.url
    sign_in(page, base, "aoi")
    expect(page.locator("#queue-rows")).to_contain_text("いま対応を待っている相談はありません")

    # An everyday message first, then an urgent one; neither page is reloaded.
    page.evaluate("window.__sameDocument = true")
    calm = line.new_pupil()
    line.send(calm, "text", text="あしたの遠足たのしみ")
    expect(page.locator("#queue-rows tr")).to_have_count(1, timeout=20_000)
    pupil = line.new_pupil()
    line.send(pupil, "follow")  # a friend of the account: pushes reach only friends
    line.send(pupil, "text", text="もう限界。今夜、橋から飛び降りる")
    first_row = page.locator("#queue-rows tr").first
    expect(first_row).to_contain_text("緊急", timeout=20_000)
    expect(first_row).to_contain_text("希死念慮・自傷")
    expect(page.locator("#queue-rows tr")).to_have_count(2)
    assert page.evaluate("window.__sameDocument") is True  # updated live, not reloaded
    page.screenshot(path=str(screenshots / f"queue-{backend}.png"), full_page=True)

    first_row.get_by_role("link", name="開く").click()
    expect(page.locator(".msg.from-sender").first).to_contain_text("今夜、橋から飛び降りる")
    expect(page.locator(".msg.from-sender mark").first).to_be_visible()  # the evidence, marked
    # The 24-hour hotlines went out at once.
    expect(page.locator(".msg.from-bot").first).to_contain_text("0120-0-78310")

    page.get_by_role("button", name="担当する").click()
    expect(page.locator(".side")).to_contain_text("aoiさん")
    page.get_by_label("返信", exact=True).fill("話してくれてありがとう。いまどこにいるか教えてくれる？")
    # While the counsellor writes, the pupil's LINE shows the "…" animation.
    wait_for(
        lambda: line.http.get(f"/emulator/chats/youth/{pupil}").json()["loading"],
        "the loading animation in the pupil's chat",
    )
    page.get_by_role("button", name="送信").click()
    mine = page.locator(".msg.from-counsellor").last
    expect(mine).to_contain_text("いまどこにいるか")
    expect(mine.locator(".delivery")).to_have_text("送信済み", timeout=20_000)
    received = wait_for(
        lambda: [m for m in line.bot_messages(pupil) if "いまどこにいるか" in m.get("text", "")],
        "the pupil receiving the counsellor's reply",
    )
    assert received[0]["sent_via"] == "push"
    page.screenshot(path=str(screenshots / f"conversation-{backend}.png"), full_page=True)

    # A new message from the pupil appears in the open conversation without a reload.
    page.evaluate("window.__sameDocument = true")
    line.send(pupil, "text", text="駅の近くにいる")
    expect(page.locator(".msg.from-sender").last).to_contain_text("駅の近くにいる", timeout=20_000)
    assert page.evaluate("window.__sameDocument") is True

    page.get_by_label("結果", exact=True).select_option("referred")
    page.get_by_label("警察").check()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="相談を終了").click()
    expect(page.locator(".side")).to_contain_text("他機関につないだ")
    expect(page.locator(".side")).to_contain_text("警察")
    expect(page.get_by_label("返信", exact=True)).to_have_count(0)

    page.goto(f"{base}/console/queue")
    expect(page.locator("#queue-rows tr")).to_have_count(1)
    expect(page.locator("#queue-rows")).not_to_contain_text("緊急")
    context.close()


def test_console_reads_on_a_tablet(
    line: LinePlatform, runtime: Runtime, browser: Browser, screenshots: Path
) -> None:
    make_user(runtime, "ren", Role.counsellor)
    pupil = line.new_pupil()
    line.send(pupil, "text", text="クラスのLINEグループから外された。毎日つらい")
    context = browser.new_context(viewport={"width": 820, "height": 1180}, locale="ja-JP", has_touch=True)
    page = context.new_page()
    sign_in(page, line.koe.url, "ren")
    row = page.locator("#queue-rows tr").first
    expect(row).to_contain_text("いじめ", timeout=20_000)
    row.get_by_role("link", name="開く").click()
    expect(page.get_by_label("返信", exact=True)).to_be_visible()
    # Nothing wider than the screen: no sideways scrolling on a tablet.
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    page.screenshot(path=str(screenshots / "conversation-tablet.png"), full_page=True)
    context.close()
