"""Time from a signed LINE webhook with an urgent message to the page on a counsellor's console stream.

    .venv/bin/python benchmarks/paging.py [--probes 40] [--rate 200] [--workers 4] [--database-url URL]

Runs Koe for real on loopback: the web process, several workers, the scheduler and the LINE emulator (for the
bot's replies), on PostgreSQL when it answers on 127.0.0.1:5432 (a fresh database, dropped afterwards) and on
a local or embedded Redis. A counsellor on duty is signed in and listens to /console/events as the console
does. Urgent messages from new senders are sent one at a time; each is timed from the moment its signed POST
is written to the moment its `page` event arrives on the stream.

Two phases: alone (the baseline measured in the same run), and under a steady background of everyday
messages at --rate per second. Prints p50 and p95 of each and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
SECRET = "dev-youth-channel-secret"
PASSWORD = "bench-password-" + secrets.token_hex(4)
EVERYDAY = [
    "きょう学校でいやなことがあった",
    "友達とけんかしてしまった",
    "テスト勉強がぜんぜん進まない",
    "部活の先輩がこわい",
    "親とあんまり話せてない",
]
URGENT = "もう限界。今夜、橋から飛び降りる"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"nothing listens on port {port}: see the logs in the printed directory")


def webhook(port: int, user: str, text: str) -> bytes:
    event = {
        "type": "message",
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": user},
        "webhookEventId": "01BENCH" + secrets.token_hex(10).upper(),
        "deliveryContext": {"isRedelivery": False},
        "replyToken": secrets.token_hex(16),
        "message": {"id": str(secrets.randbelow(10**17)), "type": "text", "text": text, "quoteToken": "q"},
    }
    body = orjson.dumps({"destination": "U" + "0" * 32, "events": [event]})
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    head = (
        f"POST /line/webhook/youth HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"X-Line-Signature: {signature}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def new_user() -> str:
    return "U" + secrets.token_hex(16)


async def read_status(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)
    return int(head.split(b" ", 2)[1])


class Stream:
    """A signed-in counsellor's /console/events, with each page event's arrival time."""

    def __init__(self, base: str, name: str) -> None:
        self.client = httpx.Client(base_url=base, timeout=30)
        form = self.client.get("/console/login").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form)
        assert csrf, "no sign-in form"
        signed = self.client.post(
            "/console/login",
            data={"username": name, "password": PASSWORD, "csrf": csrf.group(1), "next": "/console/"},
        )
        if signed.status_code >= 400:
            raise SystemExit("could not sign in to the console")
        self.pages: list[tuple[float, int]] = []  # (arrival, consultation id)
        self.ready = threading.Event()
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        if not self.ready.wait(20):
            raise SystemExit("the console's event stream did not open")

    def _read(self) -> None:
        kind = ""
        with (
            contextlib.suppress(httpx.HTTPError),
            self.client.stream("GET", "/console/events", timeout=None) as r,
        ):
            for line in r.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    if kind == "hello":
                        self.ready.set()
                    elif kind == "page":
                        data = orjson.loads(line[6:])
                        if data.get("step") == 0:
                            with self.lock:
                                self.pages.append((time.perf_counter(), int(data["consultation_id"])))

    def count(self) -> int:
        with self.lock:
            return len(self.pages)

    def arrival_after(self, index: int, timeout: float) -> float | None:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            with self.lock:
                if len(self.pages) > index:
                    return self.pages[index][0]
            time.sleep(0.002)
        return None


async def probe(port: int, stream: Stream, count: int, gap: float) -> list[float]:
    """Urgent messages one at a time, each from a new sender; the time to its page on the stream."""
    latencies: list[float] = []
    for _ in range(count):
        # A connection of its own each time (keep-alive may lapse while the last page is awaited).
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        seen = stream.count()
        request = webhook(port, new_user(), URGENT)
        started = time.perf_counter()
        writer.write(request)
        status = await read_status(reader)
        writer.close()
        if status != 200:
            raise SystemExit(f"the webhook answered {status}")
        arrived = await asyncio.to_thread(stream.arrival_after, seen, 15.0)
        if arrived is None:
            print("  a page did not arrive within 15 s", flush=True)
            latencies.append(15.0)
        else:
            latencies.append(arrived - started)
        await asyncio.sleep(gap)
    return latencies


async def background(port: int, rate: float, stop: asyncio.Event, sent: list[int]) -> None:
    """Everyday messages at a steady rate from a pool of senders, over several keep-alive connections."""
    connections = 8
    users = [new_user() for _ in range(2000)]

    async def one(k: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        interval = connections / rate
        next_at = time.perf_counter() + k * interval / connections
        i = k
        while not stop.is_set():
            delay = next_at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            writer.write(webhook(port, users[i % len(users)], EVERYDAY[i % len(EVERYDAY)]))
            await read_status(reader)
            sent[0] += 1
            i += connections
            next_at += interval
        writer.close()

    await asyncio.gather(*(one(k) for k in range(connections)))


async def under_load(
    port: int, stream: Stream, probes: int, gap: float, rate: float
) -> tuple[list[float], float]:
    stop = asyncio.Event()
    sent = [0]
    started = time.perf_counter()
    load = asyncio.create_task(background(port, rate, stop, sent))
    await asyncio.sleep(5)  # let the queues reach their steady state
    latencies = await probe(port, stream, probes, gap)
    stop.set()
    await load
    return latencies, sent[0] / (time.perf_counter() - started)


def summary(name: str, latencies: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(sorted(latencies), n=100)
    p50, p95 = q[49] * 1000, q[94] * 1000
    print(
        f"{name:<34} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   max {max(latencies) * 1000:7.1f} ms", flush=True
    )
    return p50, p95


@contextlib.contextmanager
def database(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    with socket.socket() as s:
        local_pg = s.connect_ex(("127.0.0.1", 5432)) == 0
    if not local_pg:
        with tempfile.TemporaryDirectory(prefix="koe-bench-db-") as tmp:
            yield f"sqlite:///{tmp}/bench.sqlite3"
        return
    import psycopg

    name = f"koe_bench_{uuid.uuid4().hex[:8]}"
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--probes", type=int, default=40, help="urgent messages per phase")
    parser.add_argument("--gap", type=float, default=0.25, help="seconds between probes")
    parser.add_argument("--rate", type=float, default=200.0, help="background messages per second")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--database-url", default=None, help="default: local PostgreSQL if it answers, else SQLite"
    )
    parser.add_argument(
        "--redis-url", default=None, help="default: 127.0.0.1:6379/13 if it answers, else embedded"
    )
    args = parser.parse_args()
    triage_dir = ROOT / "var" / "triage"
    python = sys.executable
    if not (triage_dir / "CURRENT").exists():
        print("training the triage model first (about a minute)…", flush=True)
        subprocess.run([python, "-m", "koe.cli", "triage", "train"], cwd=ROOT, check=True)

    with database(args.database_url) as db_url, tempfile.TemporaryDirectory(prefix="koe-bench-") as tmp:
        env = {
            **os.environ,
            "KOE_VAR_DIR": tmp,
            "KOE_LOG_LEVEL": "WARNING",
            "DATABASE_URL": db_url,
            "KOE_TRIAGE_DIR": str(triage_dir),
            "KOE_HOURS_YOUTH": "always",
        }
        redis_url = args.redis_url
        if redis_url is None:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", 6379)) == 0:
                    redis_url = "redis://127.0.0.1:6379/13"
        if redis_url:
            env["REDIS_URL"] = redis_url
            from redis import Redis

            Redis.from_url(redis_url).flushdb()
        koe = [python, "-m", "koe.cli"]
        subprocess.run([*koe, "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
        subprocess.run(
            [*koe, "user", "add", "bench", "--role", "counsellor"],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            input=PASSWORD + "\n",
            text=True,
        )
        now = datetime.now(UTC).astimezone(ZoneInfo("Asia/Tokyo"))
        subprocess.run(
            [
                *koe,
                "roster",
                "add",
                "--desk",
                "youth",
                "--primary",
                "bench",
                "--start",
                (now - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M"),
                "--end",
                (now + timedelta(hours=5)).strftime("%Y-%m-%d %H:%M"),
            ],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        web_port, emulator_port = free_port(), free_port()
        env["KOE_LINE_API_BASE_URL"] = f"http://127.0.0.1:{emulator_port}"
        logs = Path(tmp) / "logs"
        logs.mkdir()
        commands = {
            "web": [*koe, "web", "--port", str(web_port)],
            "scheduler": [*koe, "scheduler"],
            "emulator": [
                *koe,
                "emulator",
                "--port",
                str(emulator_port),
                "--koe-url",
                f"http://127.0.0.1:{web_port}",
            ],
            **{f"worker{i}": [*koe, "worker"] for i in range(args.workers)},
        }
        processes = [
            subprocess.Popen(
                cmd,
                env=env,
                cwd=ROOT,
                stdout=(logs / f"{name}.log").open("wb"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            for name, cmd in commands.items()
        ]
        try:
            wait_port(web_port)
            wait_port(emulator_port)
            stream = Stream(f"http://127.0.0.1:{web_port}", "bench")
            database_kind = db_url.split(":", 1)[0].split("+")[0]
            print(
                f"{args.probes} urgent messages per phase; {args.workers} workers; database {database_kind}; "
                f"redis {'local' if redis_url else 'embedded'}",
                flush=True,
            )
            asyncio.run(probe(web_port, stream, 5, args.gap))  # warm up: models loaded, connections open
            alone = summary("alone", asyncio.run(probe(web_port, stream, args.probes, args.gap)))
            latencies, achieved = asyncio.run(under_load(web_port, stream, args.probes, args.gap, args.rate))
            loaded = summary(f"under {achieved:.0f} messages/s", latencies)
            if redis_url:
                from redis import Redis

                waiting = Redis.from_url(redis_url).llen("rq:queue:intake")
                print(
                    f"everyday messages still queued for intake when the load stopped: {waiting}", flush=True
                )
            print(
                f"ratio under load / alone: p50 {loaded[0] / alone[0]:.2f}x   p95 {loaded[1] / alone[1]:.2f}x"
            )
            print(f"aim p95 < 1000 ms under load: {'met' if loaded[1] < 1000 else 'NOT met'}")
        finally:
            for p in processes:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, 15)
            for p in processes:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(timeout=10)
            if redis_url:
                from redis import Redis

                Redis.from_url(redis_url).flushdb()


if __name__ == "__main__":
    main()
