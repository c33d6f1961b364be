"""Settings: development generates its keys; production refuses placeholders and missing secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from koe.settings import Settings


def test_development_keys_are_generated_once_and_kept(tmp_path: Path) -> None:
    first = Settings(_env_file=None, KOE_VAR_DIR=tmp_path).keys
    second = Settings(_env_file=None, KOE_VAR_DIR=tmp_path).keys
    assert first.pseudonym_key == second.pseudonym_key and first.encryption_keys == second.encryption_keys
    assert (tmp_path / "keys" / "pseudonym_key").stat().st_mode & 0o777 == 0o600


def test_production_refuses_placeholders(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as info:
        Settings(
            _env_file=None,
            KOE_ENV="production",
            KOE_VAR_DIR=tmp_path,
            KOE_SECRET_KEY="changeme",
            DATABASE_URL="postgresql+psycopg://koe@db/koe",
            REDIS_URL="redis://redis:6379/0",
        )
    message = str(info.value)
    for name in (
        "KOE_SECRET_KEY",
        "KOE_PSEUDONYM_KEY",
        "KOE_ENCRYPTION_KEYS",
        "KOE_LINE_YOUTH_CHANNEL_SECRET",
        "KOE_PUBLIC_URL",  # notice links must reach the console over HTTPS
    ):
        assert name in message


def test_production_accepts_real_values(tmp_path: Path) -> None:
    real = {
        "KOE_SECRET_KEY": "a" * 64,
        "KOE_PSEUDONYM_KEY": "b" * 64,
        "KOE_ENCRYPTION_KEYS": "c" * 43 + "=",
        "DATABASE_URL": "postgresql+psycopg://koe@db/koe",
        "REDIS_URL": "redis://redis:6379/0",
        "KOE_PUBLIC_URL": "https://koe.example.lg.jp",
        **{f"KOE_LINE_{d}_CHANNEL_SECRET": f"{d}-secret-0123" for d in ("YOUTH", "RESIDENT")},
        **{f"KOE_LINE_{d}_CHANNEL_ACCESS_TOKEN": f"{d}-token-0123" for d in ("YOUTH", "RESIDENT")},
    }
    settings = Settings(_env_file=None, KOE_ENV="production", KOE_VAR_DIR=tmp_path, **real)  # type: ignore[arg-type]
    assert settings.channel_secret("youth") == "YOUTH-secret-0123"
    assert not (tmp_path / "keys").exists()
