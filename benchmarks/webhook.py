"""Signed webhook ingest on loopback: Koe's endpoint against a baseline that only verifies the signature.

    .venv/bin/python benchmarks/webhook.py [--requests 6000] [--concurrency 16] [--database-url URL]

Both servers run the same way (uvicorn, one process); the load comes from another process over keep-alive
connections. Every request carries a new event, so every one is a durable insert plus an RQ enqueue.
Prints throughput and latency percentiles of each, and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
SECRET = "dev-youth-channel-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def signed_request(port: int, i: int) -> bytes:
    event = {
        "type": "message",
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": "U" + secrets.token_hex(16)},
        "webhookEventId": f"01BENCH{secrets.token_hex(9).upper()}{i}",
        "deliveryContext": {"isRedelivery": False},
        "replyToken": secrets.token_hex(16),
        "message": {
            "id": str(10**15 + i),
            "type": "text",
            "text": "きょう学校でいやなことがあった",
            "quoteToken": "q",
        },
    }
    body = orjson.dumps({"destination": "U" + "0" * 32, "events": [event]})
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    head = (
        f"POST /line/webhook/youth HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"X-Line-Signature: {signature}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)
    return status


async def _load(port: int, requests: list[bytes], concurrency: int) -> tuple[list[float], float, int]:
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for r in requests:
        queue.put_nowait(r)

    async def connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while not queue.empty():
            request = queue.get_nowait()
            started = time.perf_counter()
            writer.write(request)
            status = await _read_response(reader)
            latencies.append(time.perf_counter() - started)
            errors += status != 200
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started, errors


def _wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"server on port {port} did not start")


def run_phase(name: str, cmd: list[str], env: dict[str, str], n: int, concurrency: int) -> dict[str, float]:
    port = free_port()
    proc = subprocess.Popen([*cmd, "--port", str(port)], env=env, cwd=ROOT)
    try:
        _wait_port(port)
        warmup = [signed_request(port, i) for i in range(min(500, n // 10))]
        asyncio.run(_load(port, warmup, concurrency))
        requests = [signed_request(port, 10**6 + i) for i in range(n)]
        latencies, elapsed, errors = asyncio.run(_load(port, requests, concurrency))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    result = {
        "throughput": n / elapsed,
        "p50_ms": q[49] * 1000,
        "p99_ms": q[98] * 1000,
        "errors": float(errors),
    }
    print(
        f"{name:<28} {result['throughput']:8.0f} events/s   p50 {result['p50_ms']:6.2f} ms   "
        f"p99 {result['p99_ms']:6.2f} ms   non-200: {errors}",
        flush=True,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument(
        "--redis-url", default=None, help="default: 127.0.0.1:6379 if it answers, else embedded"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="koe-bench-") as tmp:
        env = {**os.environ, "KOE_VAR_DIR": tmp, "KOE_LOG_LEVEL": "WARNING"}
        env["DATABASE_URL"] = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
        redis_url = args.redis_url
        if redis_url is None:
            with socket.socket() as s:
                local = s.connect_ex(("127.0.0.1", 6379)) == 0
            redis_url = "redis://127.0.0.1:6379/14" if local else None
        if redis_url:
            env["REDIS_URL"] = redis_url
        python = sys.executable
        print("preparing the database…", flush=True)
        subprocess.run(
            [python, "-m", "koe.cli", "migrate"], env=env, cwd=ROOT, check=True, capture_output=True
        )
        print(
            f"{args.requests} signed webhooks, {args.concurrency} keep-alive connections, "
            f"database {env['DATABASE_URL'].split(':', 1)[0]}, redis {'local' if redis_url else 'embedded'}",
            flush=True,
        )
        uvicorn = [
            python,
            "-m",
            "uvicorn",
            "--no-access-log",
            "--log-level",
            "warning",
            "--host",
            "127.0.0.1",
        ]
        base = run_phase(
            "baseline (signature only)",
            [*uvicorn, "--app-dir", str(ROOT / "benchmarks"), "baseline_app:app"],
            env,
            args.requests,
            args.concurrency,
        )
        koe = run_phase(
            "koe (verify+store+enqueue)",
            [python, "-m", "koe.cli", "web"],
            env,
            args.requests,
            args.concurrency,
        )
        if redis_url:
            from redis import Redis

            Redis.from_url(redis_url).flushdb()
    print(
        f"ratio koe/baseline: throughput {koe['throughput'] / base['throughput']:.2f}   "
        f"p50 {koe['p50_ms'] / base['p50_ms']:.2f}x   p99 {koe['p99_ms'] / base['p99_ms']:.2f}x"
    )


if __name__ == "__main__":
    main()
