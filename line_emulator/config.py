"""Configuration objects for the LINE platform emulator."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ChannelConfig", "EmulatorConfig"]


@dataclass(frozen=True)
class ChannelConfig:
    """One Messaging API channel (one LINE Official Account), i.e. one Koe desk."""

    desk: str  # "youth" or "resident"
    channel_secret: str
    access_token: str
    webhook_url: str  # e.g. "http://127.0.0.1:8000/line/webhook/youth"


@dataclass(frozen=True)
class EmulatorConfig:
    """Everything the emulator needs to know to play the LINE platform."""

    channels: tuple[ChannelConfig, ...]
    webhook_timeout_seconds: float = 10.0

    def __post_init__(self) -> None:
        desks = [channel.desk for channel in self.channels]
        if len(set(desks)) != len(desks):
            raise ValueError("each channel must have its own desk name")
        tokens = [channel.access_token for channel in self.channels]
        if len(set(tokens)) != len(tokens):
            raise ValueError("each channel must have its own access token")
        if self.webhook_timeout_seconds <= 0:
            raise ValueError("webhook_timeout_seconds must be positive")
