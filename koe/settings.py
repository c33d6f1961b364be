"""Settings from the environment (and a `.env` file), read in one place only."""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DESKS: tuple[str, ...] = ("youth", "resident")

# Development channel credentials shared by the demo, the emulator and the tests. Never valid on LINE.
DEV_CHANNEL_SECRETS = {"youth": "dev-youth-channel-secret", "resident": "dev-resident-channel-secret"}
DEV_ACCESS_TOKENS = {"youth": "dev-youth-access-token", "resident": "dev-resident-access-token"}
DEFAULT_HOURS = {"youth": "mon-fri 17:00-22:00", "resident": "mon-fri 09:00-17:00"}
LINE_API_BASE_URL = "https://api.line.me"

PLACEHOLDERS = {"", "changeme", "change-me", "secret", "placeholder", "xxx"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    koe_env: Literal["development", "production"] = Field("development", alias="KOE_ENV")
    var_dir: Path = Field(Path("var"), alias="KOE_VAR_DIR")
    database_url: str | None = Field(None, alias="DATABASE_URL")
    redis_url: str | None = Field(None, alias="REDIS_URL")

    secret_key: str | None = Field(None, alias="KOE_SECRET_KEY")
    pseudonym_key: str | None = Field(None, alias="KOE_PSEUDONYM_KEY")
    encryption_keys: str | None = Field(None, alias="KOE_ENCRYPTION_KEYS")

    line_api_base_url: str = Field(LINE_API_BASE_URL, alias="KOE_LINE_API_BASE_URL")
    line_youth_channel_secret: str | None = Field(None, alias="KOE_LINE_YOUTH_CHANNEL_SECRET")
    line_youth_channel_access_token: str | None = Field(None, alias="KOE_LINE_YOUTH_CHANNEL_ACCESS_TOKEN")
    line_resident_channel_secret: str | None = Field(None, alias="KOE_LINE_RESIDENT_CHANNEL_SECRET")
    line_resident_channel_access_token: str | None = Field(
        None, alias="KOE_LINE_RESIDENT_CHANNEL_ACCESS_TOKEN"
    )
    hours_youth: str = Field(DEFAULT_HOURS["youth"], alias="KOE_HOURS_YOUTH")
    hours_resident: str = Field(DEFAULT_HOURS["resident"], alias="KOE_HOURS_RESIDENT")

    # A consultation is one worry: after this long without a message, the next one opens a new consultation.
    consultation_quiet_gap_hours: float = Field(72.0, alias="KOE_CONSULTATION_QUIET_GAP_HOURS")
    # LINE reply tokens expire after about a minute; older than this, Koe pushes instead.
    reply_token_max_age_seconds: float = Field(50.0, alias="KOE_REPLY_TOKEN_MAX_AGE_SECONDS")
    line_timeout_seconds: float = Field(10.0, alias="KOE_LINE_TIMEOUT_SECONDS")
    # The sweeper re-enqueues inbox rows and deliveries still pending after this long.
    sweep_after_seconds: float = Field(30.0, alias="KOE_SWEEP_AFTER_SECONDS")
    sweep_interval_seconds: float = Field(10.0, alias="KOE_SWEEP_INTERVAL_SECONDS")
    job_timeout_seconds: int = Field(60, alias="KOE_JOB_TIMEOUT_SECONDS")
    max_job_attempts: int = Field(8, alias="KOE_MAX_JOB_ATTEMPTS")
    # A message to a sender is retried (with backoff) this long before it is given up as failed; LINE keeps
    # a push's retry key for 24 hours, so retrying past that could deliver twice.
    delivery_give_up_hours: float = Field(24.0, alias="KOE_DELIVERY_GIVE_UP_HOURS")
    max_webhook_body_bytes: int = Field(1_048_576, alias="KOE_MAX_WEBHOOK_BODY_BYTES")
    log_level: str = Field("INFO", alias="KOE_LOG_LEVEL")
    # The reverse proxies whose X-Forwarded-For/-Proto uvicorn believes: the console's Secure cookies and
    # sign-in throttling by address depend on them. Comma-separated addresses, or * behind a private network.
    forwarded_allow_ips: str = Field("127.0.0.1,::1", alias="KOE_FORWARDED_ALLOW_IPS")
    # Paging: which level pages the on-duty counsellor ("urgent", or "high" for high and urgent), how long a
    # page waits for an acknowledgement before it escalates, and how long after an acknowledgement further
    # risky messages of the same consultation join that page instead of paging again.
    page_min_risk: Literal["urgent", "high"] = Field("urgent", alias="KOE_PAGE_MIN_RISK")
    page_escalate_after_seconds: float = Field(60.0, gt=0, alias="KOE_PAGE_ESCALATE_AFTER_SECONDS")
    page_again_after_minutes: float = Field(10.0, ge=0, alias="KOE_PAGE_AGAIN_AFTER_MINUTES")
    # An answered page runs again if no counsellor has replied to the sender this long after (0: never).
    page_reply_within_minutes: float = Field(10.0, ge=0, alias="KOE_PAGE_REPLY_WITHIN_MINUTES")
    # E-mail for pages: an Apprise mail URL without the recipient, e.g.
    # mailtos://user:password@smtp.example.lg.jp?from=koe@example.lg.jp (each person's address is added).
    page_email_url: str | None = Field(None, alias="KOE_PAGE_EMAIL_URL")
    # How long the one-tap acknowledgement link in an e-mail or chat notice stays valid.
    page_link_minutes: float = Field(60.0, gt=0, alias="KOE_PAGE_LINK_MINUTES")
    # The console's address as counsellors reach it, for links in e-mail and chat notices.
    public_url: str = Field("http://127.0.0.1:8000", alias="KOE_PUBLIC_URL")
    # Where triage models are kept (models/<version>/ and CURRENT); default: var/triage.
    triage_dir: Path | None = Field(None, alias="KOE_TRIAGE_DIR")
    # Word vectors for training the topic heads (`koe triage vectors` fetches them); default: var/vectors/.
    vectors_path: Path | None = Field(None, alias="KOE_WORD_VECTORS")

    @model_validator(mode="after")
    def _refuse_placeholders_in_production(self) -> Settings:
        if self.koe_env != "production":
            return self
        missing = [
            name
            for name, value in {
                "KOE_SECRET_KEY": self.secret_key,
                "KOE_PSEUDONYM_KEY": self.pseudonym_key,
                "KOE_ENCRYPTION_KEYS": self.encryption_keys,
                "DATABASE_URL": self.database_url,
                "REDIS_URL": self.redis_url,
                **{f"KOE_LINE_{d.upper()}_CHANNEL_SECRET": self._channel_value(d, "secret") for d in DESKS},
                **{
                    f"KOE_LINE_{d.upper()}_CHANNEL_ACCESS_TOKEN": self._channel_value(d, "access_token")
                    for d in DESKS
                },
            }.items()
            if value is None or value.strip().lower() in PLACEHOLDERS or value.startswith("dev-")
        ]
        if not self.public_url.startswith("https://"):
            missing.append("KOE_PUBLIC_URL (https://…, the console's address in notice links)")
        if missing:
            raise ValueError(
                "KOE_ENV=production needs real values for: " + ", ".join(missing) + ". Set them in the "
                "environment or .env (see deploy/env.sample)."
            )
        return self

    def _channel_value(self, desk: str, kind: Literal["secret", "access_token"]) -> str | None:
        value: str | None = getattr(self, f"line_{desk}_channel_{kind}")
        return value

    def channel_secret(self, desk: str) -> str:
        return self._channel_value(desk, "secret") or DEV_CHANNEL_SECRETS[desk]

    def channel_access_token(self, desk: str) -> str:
        return self._channel_value(desk, "access_token") or DEV_ACCESS_TOKENS[desk]

    def hours_spec(self, desk: str) -> str:
        spec: str = getattr(self, f"hours_{desk}")
        return spec

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'koe.sqlite3').resolve()}"

    @property
    def resolved_triage_dir(self) -> Path:
        return self.triage_dir or self.var_dir / "triage"

    @property
    def resolved_vectors_path(self) -> Path:
        return self.vectors_path or self.var_dir / "vectors" / "ginza-vectors.npz"

    @cached_property
    def keys(self) -> Keys:
        """Secret keys; in development, generated once and kept under the var directory."""
        return Keys(
            secret_key=self.secret_key or self._dev_key("secret_key"),
            pseudonym_key=self.pseudonym_key or self._dev_key("pseudonym_key"),
            encryption_keys=tuple(
                k.strip()
                for k in (self.encryption_keys or self._dev_key("encryption_key", fernet=True)).split(",")
                if k.strip()
            ),
        )

    def _dev_key(self, name: str, *, fernet: bool = False) -> str:
        path = self.var_dir / "keys" / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            value = (
                base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
                if fernet
                else secrets.token_hex(32)
            )
            tmp = path.with_name(f".{name}.{secrets.token_hex(4)}")
            tmp.write_text(value)
            tmp.chmod(0o600)
            # A hard link never replaces: when two processes start together, the first key wins for both.
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
            tmp.unlink()
        return path.read_text().strip()


class Keys:
    def __init__(self, *, secret_key: str, pseudonym_key: str, encryption_keys: tuple[str, ...]) -> None:
        self.secret_key = secret_key
        self.pseudonym_key = pseudonym_key
        self.encryption_keys = encryption_keys


def load_settings() -> Settings:
    return Settings()
