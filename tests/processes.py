"""Koe's own processes started for a test, on the test's database, Redis and keys."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from koe.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def koe_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "KOE_VAR_DIR": str(settings.var_dir),
        "DATABASE_URL": settings.resolved_database_url,
        "REDIS_URL": settings.redis_url or "",
        "KOE_LINE_API_BASE_URL": settings.line_api_base_url,
        "KOE_HOURS_YOUTH": settings.hours_youth,
        "KOE_HOURS_RESIDENT": settings.hours_resident,
        "KOE_LINE_TIMEOUT_SECONDS": str(settings.line_timeout_seconds),
        "KOE_LOG_LEVEL": "INFO",
        "KOE_TRIAGE_DIR": str(settings.resolved_triage_dir),
    }
    env.update(extra)
    return env


def start_koe(
    settings: Settings, *args: str, log: Path | None = None, **extra: str
) -> subprocess.Popen[bytes]:
    out = log.open("ab") if log else subprocess.DEVNULL
    return subprocess.Popen(
        [sys.executable, "-m", "koe.cli", *args],
        env=koe_env(settings, **extra),
        cwd=ROOT,
        stdout=out,
        stderr=subprocess.STDOUT,
        # Its own process group: killing it takes its RQ scheduler child along, as a dying machine would.
        start_new_session=True,
    )


def kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
