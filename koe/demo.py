"""`koe demo`: web, worker, scheduler and the LINE emulator on the embedded default, in one command."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from types import FrameType

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from counsellor_console import rosters
from counsellor_console.accounts import create_user
from counsellor_console.timefmt import TOKYO
from koe.db import make_engine, make_sessionmaker
from koe.embedded_redis import embedded_redis_url, shutdown_embedded_redis
from koe.migrations import upgrade
from koe.settings import Settings, load_settings
from koe.triage_cli import current_or_trained
from models import Role, User


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _wait_until_up(url: str, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code < 500:
                return True
        time.sleep(0.2)
    return False


def run_demo(*, web_port: int, emulator_port: int) -> int:
    settings = load_settings()
    for port in (web_port, emulator_port):
        if not _port_free(port):
            print(
                f"ポート {port} はほかのプログラムが使っています。止めるか、--port / --emulator-port で"
                "別の番号を指定してください。",
                file=sys.stderr,
            )
            return 1
    print("[1/4] データベースを準備しています…", flush=True)
    upgrade(settings.resolved_database_url)
    password = _demo_accounts(settings)
    print("[2/4] トリアージのモデルを確かめています…", flush=True)
    current_or_trained(settings)
    print("[3/4] Redis を起動しています…", flush=True)
    redis_url = settings.redis_url or embedded_redis_url(settings.var_dir)
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "KOE_VAR_DIR": str(settings.var_dir.resolve()),
        "KOE_LINE_API_BASE_URL": f"http://127.0.0.1:{emulator_port}",
        "KOE_PUBLIC_URL": f"http://127.0.0.1:{web_port}",
    }
    koe = [sys.executable, "-m", "koe.cli"]
    commands = {
        "web": [*koe, "web", "--port", str(web_port)],
        "worker": [*koe, "worker"],
        "scheduler": [*koe, "scheduler"],
        "emulator": [
            *koe,
            "emulator",
            "--port",
            str(emulator_port),
            "--koe-url",
            f"http://127.0.0.1:{web_port}",
        ],
    }
    print("[4/4] web・worker・scheduler・LINE エミュレーターを起動しています…", flush=True)
    # Each in its own process group, so that stopping one also stops what it started (RQ's scheduler).
    processes = {
        name: subprocess.Popen(cmd, env=env, start_new_session=True) for name, cmd in commands.items()
    }
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        ready = _wait_until_up(f"http://127.0.0.1:{web_port}/readyz") and _wait_until_up(
            f"http://127.0.0.1:{emulator_port}/"
        )
        if not ready:
            print("起動できませんでした。上のログを確認してください。", file=sys.stderr)
            return 1
        hours = settings.hours_spec("youth")
        print(
            "\n声 (Koe) のデモが動いています。\n"
            f"  生徒として話す (LINE エミュレーター): http://127.0.0.1:{emulator_port}/\n"
            f"  相談員コンソール: http://127.0.0.1:{web_port}/console/  （ユーザー名 soudan / soudan2 / sv / admin / board、"
            f"パスワード {password}）\n"
            f"  Koe の状態: http://127.0.0.1:{web_port}/readyz   指標: http://127.0.0.1:{web_port}/metrics\n"
            f"  データ: {settings.resolved_database_url}\n"
            f"  こども相談の受付時間: {hours}（時間外の返事も試せます。時間内の流れは KOE_HOURS_YOUTH=always で）\n"
            "止めるときは Ctrl+C を押してください。\n",
            flush=True,
        )
        while all(p.poll() is None for p in processes.values()):
            time.sleep(0.5)
        stopped = [name for name, p in processes.items() if p.poll() is not None]
        print(f"{', '.join(stopped)} が止まったため、デモを終了します。", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\n終了しています…", flush=True)
        return 0
    finally:
        # A second Ctrl+C or SIGTERM during the clean-up must not cut it short and orphan the processes.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for p in processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
        for p in processes.values():
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
        shutdown_embedded_redis()


DEMO_ACCOUNTS = (
    ("soudan", Role.counsellor, "相談員 さくら"),
    ("soudan2", Role.counsellor, "相談員 たける"),
    ("sv", Role.supervisor, "SV 山田"),
    ("admin", Role.admin, "管理者"),
    ("board", Role.board, "教育委員会"),
)


def _demo_accounts(settings: Settings) -> str:
    """Console accounts for trying the demo, with one password kept under var/ (development only)."""
    secret = settings.var_dir / "demo-password"
    if not secret.exists():
        secret.parent.mkdir(parents=True, exist_ok=True)
        secret.write_text(secrets.token_urlsafe(9))
        secret.chmod(0o600)
    password = secret.read_text().strip()
    engine = make_engine(settings.resolved_database_url)
    try:
        with make_sessionmaker(engine)() as session, session.begin():
            for username, role, name in DEMO_ACCOUNTS:
                if session.scalar(select(User.id).where(User.username == username)) is None:
                    create_user(session, username=username, password=password, role=role, display_name=name)
            _demo_roster(session, settings)
    finally:
        engine.dispose()
    return password


def _demo_roster(session: Session, settings: Settings) -> None:
    """Two weeks of shifts for each desk, so that an urgent message in the demo pages someone: soudan during
    opening hours (soudan2 as backup, sv on call), and soudan2 on call overnight."""
    ids = dict(session.execute(select(User.username, User.id)).tuples().all())
    now = datetime.now(UTC)
    today = now.astimezone(TOKYO).date()
    for desk, (opens, closes) in {"youth": (clock(17), clock(22)), "resident": (clock(9), clock(17))}.items():
        for offset in range(-1, 14):
            day = today + timedelta(days=offset)
            for start, end, primary, backup, on_call in (
                (opens, closes, "soudan", "soudan2", False),
                (closes, opens, "soudan2", "soudan", True),
            ):
                form = rosters.ShiftForm(
                    desk=desk,
                    day=day,
                    start=start,
                    end=end,
                    primary=ids[primary],
                    backup=ids[backup],
                    supervisor=ids["sv"],
                    on_call=on_call,
                )
                with contextlib.suppress(rosters.RosterError), session.begin_nested():
                    rosters.add_shift(session, form=form, by=None, now=now)


def _raise_interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt
