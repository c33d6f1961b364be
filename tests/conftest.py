"""Fixtures: storage tests run on SQLite and, when it answers, on PostgreSQL; Redis is always real."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy import text

from koe.migrations import upgrade
from koe.runtime import Runtime, set_runtime
from koe.settings import Settings
from models import Base
from tests.services import REDIS_CLAIM_KEY, postgres_available, postgres_database, redis_server
from triage.model import TriageModel

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Migrated once per test session and backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'koe.sqlite3'}"
        upgrade(url)
        yield url
        return
    if not postgres_available():
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    with postgres_database() as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def triage_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One model trained on the corpus for the whole test session (training is deterministic)."""
    from triage import corpus
    from triage.registry import ModelRegistry
    from triage.training import train
    from triage.vectors import WordVectors

    # With the word vectors `make test` fetches into var/vectors/ when it can; without them when it cannot.
    fetched = Path(__file__).resolve().parent.parent / "var" / "vectors" / "ginza-vectors.npz"
    registry = ModelRegistry(tmp_path_factory.mktemp("triage"))
    trained = train(corpus.load(), vectors=WordVectors.load(fetched) if fetched.exists() else None)
    registry.save(trained.model)
    registry.promote(trained.model.version)
    return registry.base


@pytest.fixture(scope="session")
def triage_model(triage_dir: Path) -> TriageModel:
    from triage.registry import ModelRegistry

    return ModelRegistry(triage_dir).load_current()


def make_settings(
    var_dir: Path, database_url: str, redis_url: str, triage_dir: Path, **overrides: object
) -> Settings:
    values: dict[str, object] = {
        "KOE_VAR_DIR": var_dir,
        "KOE_TRIAGE_DIR": triage_dir,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "KOE_HOURS_YOUTH": "always",
        "KOE_HOURS_RESIDENT": "always",
        "KOE_LINE_API_BASE_URL": "http://127.0.0.1:9",  # nothing listens: tests that send give their own
        "KOE_LINE_TIMEOUT_SECONDS": 3,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path, database_url: str, redis_url: str, triage_dir: Path) -> Settings:
    return make_settings(tmp_path / "var", database_url, redis_url, triage_dir)


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    """A runtime on clean tables and an empty Redis database, installed as this process's runtime."""
    rt = Runtime(settings)
    redis = Redis.from_url(settings.redis_url or "")
    redis.flushdb()
    redis.set(REDIS_CLAIM_KEY, os.getpid(), ex=3600)  # still ours: another test run must not take it
    set_runtime(rt)
    yield rt
    set_runtime(None)
    _truncate(rt)
    rt.close()


def _truncate(rt: Runtime) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with rt.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - table names from our metadata
