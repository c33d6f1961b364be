"""The whole intake through the LINE emulator: a pupil follows, answers, writes, and the bot answers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from koe.runtime import Runtime
from models import Consultation, InboxEvent, Message, SchoolLevel, Sender
from tests.intake import close_desk_now
from tests.line_platform import LinePlatform, line_platform


@pytest.fixture
def line(runtime: Runtime) -> Iterator[LinePlatform]:
    with line_platform(runtime) as platform:
        yield platform


def test_follow_school_level_text_and_sticker_round_trip(line: LinePlatform) -> None:
    pupil = line.new_pupil()
    assert line.send(pupil, "follow")["status"] == 200
    line.work()
    welcome, question = line.bot_messages(pupil)
    assert "声（こえ）" in welcome["text"] and welcome["sent_via"] == "reply"
    choices = question["quick_reply"]
    assert [c["label"] for c in choices] == ["小学生", "中学生", "高校生", "それ以外", "答えたくない"]

    # The pupil taps 中学生, as the LINE app does: a postback with its display text.
    junior = next(c for c in choices if c["label"] == "中学生")
    line.send(pupil, "postback", data=junior["data"], display_text=junior["display_text"])
    line.work()
    assert "自由に書いてね" in line.bot_messages(pupil)[-1]["text"]

    line.send(pupil, "text", text="部活の先輩にずっと無視されてる")
    line.send(pupil, "text", text="どうしたらいいかわからない")
    line.work()
    after_text = line.bot_messages(pupil)
    assert sum("順番にお返事" in m.get("text", "") for m in after_text) == 1

    line.send(pupil, "sticker")
    line.work()
    assert "スタンプありがとう" in line.bot_messages(pupil)[-1]["text"]

    with line.rt.sessions() as s:
        sender = s.scalars(select(Sender)).one()
        consultation = s.scalars(select(Consultation)).one()
        texts = [
            m.text for m in s.scalars(select(Message).where(Message.author == "sender").order_by(Message.id))
        ]
    assert sender.school_level == SchoolLevel.junior_high
    assert consultation.message_count == 3 and consultation.school_level == SchoolLevel.junior_high
    assert texts == ["部活の先輩にずっと無視されてる", "どうしたらいいかわからない", None]
    assert line.http.get("/emulator/calls/profile-count").json()["count"] == 0


def test_out_of_hours_reply_gives_hours_and_hotlines(line: LinePlatform) -> None:
    close_desk_now(line.rt, "youth")
    pupil = line.new_pupil()
    line.send(pupil, "follow")
    line.send(pupil, "text", text="ねむれない")
    line.work()
    answer = line.bot_messages(pupil)[-1]["text"]
    assert "相談員がいない時間" in answer
    for number in ("0120-0-78310", "189", "110", "119"):
        assert number in answer


def test_redelivered_event_is_not_processed_again(line: LinePlatform) -> None:
    pupil = line.new_pupil()
    sent = line.send(pupil, "text", text="もう一回とどく？")
    line.work()
    before = line.bot_messages(pupil)
    again = line.http.post("/emulator/redeliver", json={"webhook_event_id": sent["webhook_event_id"]}).json()
    assert again["status"] == 200
    line.work()
    assert line.bot_messages(pupil) == before
    with line.rt.sessions() as s:
        assert len(s.scalars(select(InboxEvent)).all()) == 1


def test_bad_signature_from_the_platform_is_refused(line: LinePlatform) -> None:
    pupil = line.new_pupil()
    assert line.send(pupil, "text", text="x", bad_signature=True)["status"] == 400
    with line.rt.sessions() as s:
        assert s.scalars(select(InboxEvent)).all() == []


def test_resident_desk_speaks_politely_and_does_not_ask_school_level(line: LinePlatform) -> None:
    resident = line.new_pupil("resident")
    line.send(resident, "follow", desk="resident")
    line.send(resident, "text", desk="resident", text="息子が10年ひきこもっています")
    line.work()
    messages = line.bot_messages(resident, "resident")
    assert all("quick_reply" not in m or not m["quick_reply"] for m in messages)
    assert "くらしの相談窓口" in messages[0]["text"]
    assert "お待ちください" in messages[-1]["text"]


def test_group_chats_are_left_and_never_answered(line: LinePlatform) -> None:
    pupil = line.new_pupil()
    sent = line.send(pupil, "join", source_type="group")
    line.send(pupil, "text", text="みんなきいて", source_type="group", group_id=sent["chat_id"])
    line.work()
    group = line.http.get(f"/emulator/chats/youth/{sent['chat_id']}").json()
    assert group["bot_left"] is True
    assert [m for m in group["messages"] if m["from"] == "bot"] == []
    with line.rt.sessions() as s:
        assert s.scalars(select(Message)).all() == []
