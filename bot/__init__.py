"""Channels in and out: the LINE webhook, the conversation flow, and outbound messages."""
