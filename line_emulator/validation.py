"""Validation of message objects, modelled on what the LINE Messaging API accepts.

Each check produces LINE-style error details: ``{"message": ..., "property": ...}`` where
``property`` is the JSON path of the offending field, e.g. ``messages[0].text``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "MAX_MESSAGES",
    "SUPPORTED_MESSAGE_TYPES",
    "body_error",
    "line_text_length",
    "validate_messages",
]

MAX_MESSAGES = 5
MAX_TEXT_LENGTH = 5000
MAX_QUICK_REPLY_ITEMS = 13
MAX_ACTION_LABEL = 20
MAX_POSTBACK_DATA = 300
MAX_URL_LENGTH = 2000

SUPPORTED_MESSAGE_TYPES = (
    "text",
    "sticker",
    "image",
    "video",
    "audio",
    "location",
    "imagemap",
    "template",
    "flex",
)

# Action types LINE accepts in quick reply buttons. The emulator's page can act on the
# first three; the others are accepted (like LINE) and shown as buttons that do nothing.
QUICK_REPLY_ACTION_TYPES = (
    "postback",
    "message",
    "uri",
    "datetimepicker",
    "camera",
    "cameraRoll",
    "location",
    "clipboard",
)

Detail = dict[str, str]


def body_error(details: list[Detail]) -> dict[str, Any]:
    """The LINE error body for a request whose JSON body failed validation."""
    return {"message": f"The request body has {len(details)} error(s)", "details": details}


def line_text_length(text: str) -> int:
    """Length as LINE counts it: characters outside the BMP (most emoji) count as two."""
    return len(text.encode("utf-16-le")) // 2


class _Checker:
    def __init__(self) -> None:
        self.details: list[Detail] = []

    def fail(self, prop: str, message: str) -> None:
        self.details.append({"message": message, "property": prop})

    def string(
        self,
        obj: Mapping[str, Any],
        key: str,
        prop: str,
        *,
        required: bool,
        min_length: int = 0,
        max_length: int | None = None,
    ) -> str | None:
        path = f"{prop}.{key}"
        if key not in obj or obj[key] is None:
            if required:
                self.fail(path, "must be specified")
            return None
        value = obj[key]
        if not isinstance(value, str):
            self.fail(path, "must be a string")
            return None
        length = line_text_length(value)
        if min_length > 0 and length == 0:
            self.fail(path, "May not be empty")
        elif length < min_length or (max_length is not None and length > max_length):
            upper = "" if max_length is None else f" and {max_length}"
            self.fail(path, f"Length must be between {min_length}{upper}")
        return value

    def https_url(self, obj: Mapping[str, Any], key: str, prop: str, *, required: bool) -> None:
        value = self.string(obj, key, prop, required=required, max_length=MAX_URL_LENGTH)
        if value is not None and not value.startswith("https://"):
            self.fail(f"{prop}.{key}", "must be a valid HTTPS URL")

    def number(self, obj: Mapping[str, Any], key: str, prop: str, *, integer: bool) -> None:
        path = f"{prop}.{key}"
        value = obj.get(key)
        if value is None:
            self.fail(path, "must be specified")
        elif isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(path, "must be a number")
        elif integer and not isinstance(value, int):
            self.fail(path, "must be an integer")

    def obj(self, obj: Mapping[str, Any], key: str, prop: str, *, required: bool) -> Mapping[str, Any] | None:
        path = f"{prop}.{key}"
        value = obj.get(key)
        if value is None:
            if required:
                self.fail(path, "must be specified")
            return None
        if not isinstance(value, Mapping):
            self.fail(path, "must be an object")
            return None
        return value

    # -- message objects -------------------------------------------------------------

    def message(self, message: Any, prop: str) -> None:
        if not isinstance(message, Mapping):
            self.fail(prop, "must be an object")
            return
        kind = message.get("type")
        if kind not in SUPPORTED_MESSAGE_TYPES:
            self.fail(
                f"{prop}.type",
                "Must be one of the following values: [" + ", ".join(SUPPORTED_MESSAGE_TYPES) + "]",
            )
            return
        if kind == "text":
            self.string(message, "text", prop, required=True, min_length=1, max_length=MAX_TEXT_LENGTH)
            self.string(message, "quoteToken", prop, required=False)
        elif kind == "sticker":
            self.string(message, "packageId", prop, required=True, min_length=1)
            self.string(message, "stickerId", prop, required=True, min_length=1)
            self.string(message, "quoteToken", prop, required=False)
        elif kind in ("image", "video"):
            self.https_url(message, "originalContentUrl", prop, required=True)
            self.https_url(message, "previewImageUrl", prop, required=True)
        elif kind == "audio":
            self.https_url(message, "originalContentUrl", prop, required=True)
            self.number(message, "duration", prop, integer=True)
        elif kind == "location":
            self.string(message, "title", prop, required=True, min_length=1, max_length=100)
            self.string(message, "address", prop, required=True, min_length=1, max_length=100)
            self.number(message, "latitude", prop, integer=False)
            self.number(message, "longitude", prop, integer=False)
        elif kind == "imagemap":
            self.https_url(message, "baseUrl", prop, required=True)
            self.string(message, "altText", prop, required=True, min_length=1, max_length=1500)
            self.obj(message, "baseSize", prop, required=True)
            if not isinstance(message.get("actions"), list):
                self.fail(f"{prop}.actions", "must be specified")
        elif kind == "template":
            self.string(message, "altText", prop, required=True, min_length=1, max_length=400)
            template = self.obj(message, "template", prop, required=True)
            if template is not None and not isinstance(template.get("type"), str):
                self.fail(f"{prop}.template.type", "must be specified")
        elif kind == "flex":
            self.string(message, "altText", prop, required=True, min_length=1, max_length=1500)
            contents = self.obj(message, "contents", prop, required=True)
            if contents is not None and contents.get("type") not in ("bubble", "carousel"):
                self.fail(f"{prop}.contents.type", "Must be one of the following values: [bubble, carousel]")
        self.sender(message, prop)
        self.quick_reply(message, prop)

    def sender(self, message: Mapping[str, Any], prop: str) -> None:
        sender = self.obj(message, "sender", prop, required=False)
        if sender is None:
            return
        self.string(sender, "name", f"{prop}.sender", required=False, min_length=1, max_length=20)
        self.https_url(sender, "iconUrl", f"{prop}.sender", required=False)

    def quick_reply(self, message: Mapping[str, Any], prop: str) -> None:
        quick_reply = self.obj(message, "quickReply", prop, required=False)
        if quick_reply is None:
            return
        items_path = f"{prop}.quickReply.items"
        items = quick_reply.get("items")
        if not isinstance(items, list):
            self.fail(items_path, "must be specified")
            return
        if not 1 <= len(items) <= MAX_QUICK_REPLY_ITEMS:
            self.fail(items_path, f"Size must be between 1 and {MAX_QUICK_REPLY_ITEMS}")
        for index, item in enumerate(items):
            item_path = f"{items_path}[{index}]"
            if not isinstance(item, Mapping):
                self.fail(item_path, "must be an object")
                continue
            if item.get("type") != "action":
                self.fail(f"{item_path}.type", "Must be one of the following values: [action]")
            self.https_url(item, "imageUrl", item_path, required=False)
            action = self.obj(item, "action", item_path, required=True)
            if action is not None:
                self.action(action, f"{item_path}.action")

    def action(self, action: Mapping[str, Any], prop: str) -> None:
        kind = action.get("type")
        if kind not in QUICK_REPLY_ACTION_TYPES:
            self.fail(
                f"{prop}.type",
                "Must be one of the following values: [" + ", ".join(QUICK_REPLY_ACTION_TYPES) + "]",
            )
            return
        # Quick reply buttons always need a label.
        self.string(action, "label", prop, required=True, min_length=1, max_length=MAX_ACTION_LABEL)
        if kind == "postback":
            self.string(action, "data", prop, required=True, max_length=MAX_POSTBACK_DATA)
            display_text = self.string(action, "displayText", prop, required=False, max_length=300)
            text = self.string(action, "text", prop, required=False, max_length=300)
            if display_text is not None and text is not None:
                self.fail(f"{prop}.displayText", "displayText and text cannot be specified together")
        elif kind == "message":
            self.string(action, "text", prop, required=True, min_length=1, max_length=300)
        elif kind == "uri":
            self.string(action, "uri", prop, required=True, min_length=1, max_length=1000)
        elif kind == "datetimepicker":
            self.string(action, "data", prop, required=True, max_length=MAX_POSTBACK_DATA)
            self.string(action, "mode", prop, required=True)


def validate_messages(messages: Any, prop: str = "messages") -> list[Detail]:
    """Check a ``messages`` array; an empty result means LINE would accept it."""
    checker = _Checker()
    if messages is None:
        checker.fail(prop, "must be specified")
    elif not isinstance(messages, list):
        checker.fail(prop, "must be an array")
    elif not 1 <= len(messages) <= MAX_MESSAGES:
        checker.fail(prop, f"Size must be between 1 and {MAX_MESSAGES}")
    else:
        for index, message in enumerate(messages):
            checker.message(message, f"{prop}[{index}]")
    return checker.details
