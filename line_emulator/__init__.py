"""A local stand-in for the LINE platform, for Koe's demo and end-to-end tests.

It answers the Messaging API endpoints Koe calls (through the official ``line-bot-sdk``
with only the host changed), sends signed webhooks to Koe for what an emulated pupil
does, and serves a chat page that plays the pupil's LINE app.
"""

from line_emulator.app import create_app
from line_emulator.config import ChannelConfig, EmulatorConfig
from line_emulator.server import EmulatorServer, serve

__all__ = ["ChannelConfig", "EmulatorConfig", "EmulatorServer", "create_app", "serve"]
