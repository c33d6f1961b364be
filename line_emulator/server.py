"""Running the emulator: blocking (``serve``) or in a background thread (``EmulatorServer``)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from types import TracebackType

import uvicorn
from fastapi import FastAPI

from line_emulator.app import create_app
from line_emulator.config import EmulatorConfig
from line_emulator.state import EmulatorState

__all__ = ["EmulatorServer", "serve"]


class _QuietPolling(logging.Filter):
    """Keeps the chat page's once-a-second polling out of the access log."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            return not args[2].startswith(("/emulator/chats/", "/static/"))
        return True


def serve(config: EmulatorConfig, host: str = "127.0.0.1", port: int = 8001) -> None:
    """Run the emulator with uvicorn until interrupted (blocking)."""
    server_config = uvicorn.Config(create_app(config), host=host, port=port, log_level="info")
    # uvicorn sets up its loggers while building the config; add the filter afterwards.
    logging.getLogger("uvicorn.access").addFilter(_QuietPolling())
    uvicorn.Server(server_config).run()


class EmulatorServer:
    """The emulator on a real loopback port, served from a daemon thread.

    >>> with EmulatorServer(config) as emulator:   # doctest: +SKIP
    ...     Configuration(host=emulator.url, access_token="...")

    ``port=0`` (the default) picks a free port; read it from :attr:`port` or :attr:`url`.
    """

    def __init__(self, config: EmulatorConfig, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app: FastAPI = create_app(config)
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def state(self) -> EmulatorState:
        state: EmulatorState = self.app.state.emulator
        return state

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the emulator server is not running")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> str:
        """Start serving; returns the base URL once the server accepts connections."""
        if self._thread is not None:
            raise RuntimeError("the emulator server is already running")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off")
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=f"line-emulator-{self._port}", daemon=True
        )
        self._server, self._thread = server, thread
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the emulator server did not start")
            time.sleep(0.01)
        return self.url

    def stop(self, timeout: float = 10.0) -> None:
        server, thread = self._server, self._thread
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout)
        self._server = self._thread = None
        self._port = None

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
