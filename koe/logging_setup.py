"""Process logging. Log lines carry Koe's own row IDs only: never message text, never LINE user IDs."""

from __future__ import annotations

import logging


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(process)d %(message)s",
    )
    # The SDK's and HTTP clients' debug output can include request bodies; keep them quiet.
    for noisy in ("urllib3", "linebot", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
