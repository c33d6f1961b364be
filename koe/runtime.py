"""The process's connections and services, built lazily after any fork and never at import time."""

from __future__ import annotations

import os
from datetime import timedelta
from functools import cached_property

from redis import Redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.conversation import FlowConfig
from bot.hours import OpeningHours
from bot.identity import SenderCrypto
from bot.line_api import LineApi
from counsellor_console.page_notices import LinkSigner
from counsellor_console.paging import PagingPolicy
from koe.db import make_engine, make_sessionmaker
from koe.queues import Queues
from koe.settings import DESKS, Settings, load_settings
from models import RiskLevel
from triage.model import ModelIntegrityError, TriageModel
from triage.registry import ModelRegistry, NoModel


class ConfigError(Exception):
    """A setting that cannot work; the command line reports it and exits with status 2."""


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def redis_url(self) -> str:
        if self.settings.redis_url:
            return self.settings.redis_url
        from koe.embedded_redis import embedded_redis_url

        return embedded_redis_url(self.settings.var_dir)

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.resolved_database_url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return make_sessionmaker(self.engine)

    @cached_property
    def redis(self) -> Redis:
        # Short timeouts: a webhook must still answer (the sweeper catches up) when Redis is unreachable.
        return Redis.from_url(
            self.redis_url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30
        )

    @cached_property
    def queues(self) -> Queues:
        return Queues(self.redis, job_timeout=self.settings.job_timeout_seconds)

    @cached_property
    def crypto(self) -> SenderCrypto:
        keys = self.settings.keys
        return SenderCrypto(pseudonym_key=keys.pseudonym_key, encryption_keys=keys.encryption_keys)

    @cached_property
    def hours(self) -> dict[str, OpeningHours]:
        return {desk: OpeningHours(self.settings.hours_spec(desk)) for desk in DESKS}

    @cached_property
    def triage(self) -> TriageModel:
        return ModelRegistry(self.settings.resolved_triage_dir).load_current()

    @cached_property
    def flow(self) -> FlowConfig:
        model = self.triage
        return FlowConfig(
            crypto=self.crypto,
            hours=self.hours,
            quiet_gap=timedelta(hours=self.settings.consultation_quiet_gap_hours),
            triage=lambda text, desk: model.predict(text, desk),
        )

    @cached_property
    def paging_policy(self) -> PagingPolicy:
        s = self.settings
        return PagingPolicy(
            min_risk=RiskLevel(s.page_min_risk),
            escalate_after=timedelta(seconds=s.page_escalate_after_seconds),
            again_after=timedelta(minutes=s.page_again_after_minutes),
            reply_within=timedelta(minutes=s.page_reply_within_minutes)
            if s.page_reply_within_minutes
            else None,
            email_enabled=bool(s.page_email_url),
        )

    @cached_property
    def link_signer(self) -> LinkSigner:
        return LinkSigner(self.settings.keys.secret_key)

    @cached_property
    def line(self) -> LineApi:
        return LineApi(
            base_url=self.settings.line_api_base_url,
            access_tokens={desk: self.settings.channel_access_token(desk) for desk in DESKS},
            timeout_seconds=self.settings.line_timeout_seconds,
        )

    def check(self, *, jobs: bool = True) -> None:
        """Build what the process needs now, so that a bad setting stops it at start with a clear message
        instead of failing each message later: keys and opening hours always; for processes that run jobs,
        the LINE client and the triage model too (the web process never loads the model)."""
        try:
            _ = (self.crypto, self.hours)
            if jobs:
                _ = (self.flow, self.line)
        except ValueError as exc:  # HoursSpecError, a malformed Fernet key, ...
            raise ConfigError(str(exc)) from exc
        except (NoModel, ModelIntegrityError) as exc:
            raise ConfigError(str(exc)) from exc

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
        if "redis" in self.__dict__:
            self.redis.close()


_runtime: Runtime | None = None
_runtime_pid: int | None = None


def get_runtime() -> Runtime:
    """This process's runtime; a forked child builds its own rather than share sockets with its parent."""
    global _runtime, _runtime_pid
    if _runtime is None or _runtime_pid != os.getpid():
        _runtime, _runtime_pid = Runtime(load_settings()), os.getpid()
    return _runtime


def set_runtime(runtime: Runtime | None) -> None:
    """Install a runtime built from explicit settings (the tests and `koe demo` do this)."""
    global _runtime, _runtime_pid
    _runtime, _runtime_pid = runtime, os.getpid()
