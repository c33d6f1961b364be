"""``python -m line_emulator --channel youth,SECRET,TOKEN,http://127.0.0.1:8000/line/webhook/youth``"""

from __future__ import annotations

import argparse

from line_emulator.config import ChannelConfig, EmulatorConfig
from line_emulator.server import serve


def _channel(value: str) -> ChannelConfig:
    parts = value.split(",", 3)
    if len(parts) != 4 or not all(parts):
        raise argparse.ArgumentTypeError("expected DESK,CHANNEL_SECRET,ACCESS_TOKEN,WEBHOOK_URL")
    desk, secret, token, url = parts
    return ChannelConfig(desk=desk, channel_secret=secret, access_token=token, webhook_url=url)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m line_emulator", description="Local LINE platform emulator"
    )
    parser.add_argument(
        "--channel",
        type=_channel,
        action="append",
        required=True,
        metavar="DESK,SECRET,TOKEN,WEBHOOK_URL",
        help="a channel (desk) to emulate; repeat for each desk",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--webhook-timeout", type=float, default=10.0)
    args = parser.parse_args(argv)
    config = EmulatorConfig(channels=tuple(args.channel), webhook_timeout_seconds=args.webhook_timeout)
    serve(config, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
