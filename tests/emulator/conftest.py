"""Fixtures for the LINE emulator tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from line_emulator import EmulatorConfig, EmulatorServer, create_app

from .helpers import WebhookReceiver, make_config


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def config(receiver: WebhookReceiver) -> EmulatorConfig:
    return make_config(receiver)


@pytest.fixture
def client(config: EmulatorConfig) -> Iterator[TestClient]:
    with TestClient(create_app(config)) as test_client:
        yield test_client


@pytest.fixture
def server(config: EmulatorConfig) -> Iterator[EmulatorServer]:
    with EmulatorServer(config) as running:
        yield running
