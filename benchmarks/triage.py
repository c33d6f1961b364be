"""Triage speed: one message at a time (p50/p99) and a batch, against SudachiPy tokenisation alone in the
same run, printed as a ratio.

    .venv/bin/python benchmarks/triage.py [--rounds 3]

Uses the promoted model (training one first if there is none) and the corpus' test split as input.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, and its name would hide the triage package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from koe.settings import load_settings  # noqa: E402
from koe.triage_cli import current_or_trained  # noqa: E402
from triage import corpus  # noqa: E402
from triage.text import normalize  # noqa: E402
from triage.tokens import word_tokens  # noqa: E402


def timings(fn: Callable[[str], object], texts: list[str], rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        for text in texts:
            started = time.perf_counter()
            fn(text)
            out.append(time.perf_counter() - started)
    return out


def describe(name: str, samples: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(samples, n=100)
    p50, p99 = q[49] * 1e3, q[98] * 1e3
    print(f"{name:<34} p50 {p50:7.3f} ms   p99 {p99:7.3f} ms   ({len(samples)} calls)")
    return p50, p99


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    model = current_or_trained(load_settings())
    examples = [e for e in corpus.load() if e.split == "test"]
    texts = [e.text for e in examples]
    mean_chars = sum(map(len, texts)) / len(texts)
    print(f"model {model.version}; {len(texts)} test messages, {mean_chars:.0f} characters on average")

    for text in texts[:50]:  # warm up both
        model.predict(text)
        word_tokens(normalize(text))
    base_p50, base_p99 = describe(
        "sudachi tokenisation alone", timings(lambda t: word_tokens(normalize(t)), texts, args.rounds)
    )
    p50, p99 = describe("triage (model + safety layer)", timings(model.predict, texts, args.rounds))

    started = time.perf_counter()
    for e in examples:
        model.predict(e.text, e.channel)
    batch = len(examples) / (time.perf_counter() - started)
    started = time.perf_counter()
    for e in examples:
        word_tokens(normalize(e.text))
    base_batch = len(examples) / (time.perf_counter() - started)
    print(
        f"batch throughput: triage {batch:,.0f} messages/s, tokenisation alone {base_batch:,.0f} messages/s"
    )
    ratios = f"p50 {p50 / base_p50:.2f}x   p99 {p99 / base_p99:.2f}x   throughput {batch / base_batch:.2f}"
    print(f"ratio triage/tokenisation: {ratios}")


if __name__ == "__main__":
    main()
