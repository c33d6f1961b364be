"""The pupil's chat page and the package layout."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from line_emulator import ChannelConfig, EmulatorConfig
from line_emulator.ids import new_webhook_event_id


def test_page_is_served_in_japanese(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    for words in (
        "LINE エミュレーター",
        "新しい利用者として始める",
        "画像を送る",
        "ブロック",
        "ブロック解除",
        "スタンプ",
    ):
        assert words in page
    assert 'lang="ja"' in page


def test_static_assets_are_served(client: TestClient) -> None:
    script = client.get("/static/emulator.js")
    assert script.status_code == 200
    assert "/emulator/chats/" in script.text
    assert "innerHTML" not in script.text  # all text goes in with textContent
    assert client.get("/static/emulator.css").status_code == 200


def test_channels_for_the_page(client: TestClient) -> None:
    channels = client.get("/emulator/channels").json()
    assert [c["desk"] for c in channels] == ["youth", "resident"]
    assert all(re.fullmatch(r"U[0-9a-f]{32}", c["bot_user_id"]) for c in channels)


def test_reset_forgets_everything(client: TestClient) -> None:
    user_id = client.post("/emulator/users", json={"desk": "youth"}).json()["user_id"]
    client.post("/emulator/settings", json={"reply_token_ttl_seconds": 1})
    client.post("/emulator/reset")
    assert client.get(f"/emulator/chats/youth/{user_id}").status_code == 404
    assert client.get("/emulator/settings").json()["reply_token_ttl_seconds"] == 60


def test_config_rejects_duplicate_desks() -> None:
    channel = ChannelConfig("youth", "s", "t", "http://127.0.0.1:1/")
    with pytest.raises(ValueError, match="desk"):
        EmulatorConfig(channels=(channel, ChannelConfig("youth", "s2", "t2", "http://127.0.0.1:1/")))


def test_webhook_event_ids_sort_by_time() -> None:
    earlier, later = new_webhook_event_id(1_700_000_000_000), new_webhook_event_id(1_700_000_000_001)
    assert len(earlier) == 26 and earlier < later
