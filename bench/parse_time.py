"""The NLU parse of one message alone, without HTTP: a model loaded in a process of its own.

    python -m bench.parse_time MODEL NLU_DATA OUT [--messages 200] [--ours]

Loads MODEL with `Agent.load` (after `bot.rasa_runtime.server.install()` with
`--ours`: how our Rasa process runs) and times `agent.parse_message` for
messages drawn from the training examples in NLU_DATA, after a warm-up;
writes the figures to OUT as JSON. `measure()` runs this in a subprocess, so
one model's memory and threads do not weigh on another's measurement.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.report import median, percentile
from bot.infra.settings import ROOT

WARM_UP = 20


def sample_texts(data: Path, count: int) -> list[str]:
    """`count` texts of the intent examples in `data` (a file or a folder), drawn
    at random with a fixed seed, repeated when there are fewer."""
    from rasa.shared.nlu.training_data.loading import load_data

    texts = sorted({m.get("text") for m in load_data(str(data)).intent_examples})
    drawn = random.Random(7).sample(texts, min(count, len(texts)))
    return [drawn[i % len(drawn)] for i in range(count)]


async def _timings(agent: Any, texts: list[str]) -> list[float]:
    for text in texts[-WARM_UP:]:
        await agent.parse_message(text)
    timings = []
    for text in texts:
        started = time.perf_counter()
        await agent.parse_message(text)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("data", type=Path, help="NLU training data: the messages")
    parser.add_argument("out", type=Path, help="where to write the figures (JSON)")
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--ours", action="store_true", help="apply our Rasa runtime first")
    args = parser.parse_args()
    if args.ours:
        from bot.rasa_runtime.server import install

        install()
    from rasa.core.agent import Agent

    texts = sample_texts(args.data, args.messages)
    started = time.perf_counter()
    agent = Agent.load(args.model)
    loaded = time.perf_counter() - started
    timings = asyncio.run(_timings(agent, texts))
    figures = {
        "messages": len(timings),
        "warm_up": WARM_UP,
        "median_ms": median(timings),
        "p95_ms": round(percentile(timings, 0.95), 1),
        "mean_ms": round(sum(timings) / len(timings), 1),
        "model_load_seconds": round(loaded, 1),
    }
    args.out.write_text(json.dumps(figures) + "\n", "utf-8")
    return 0


def measure(
    name: str, model: Path, data: Path, env: dict[str, str], work: Path, messages: int, ours: bool
) -> dict[str, Any]:
    """Run this module for system `name` in a subprocess with `env`; its figures."""
    out = work / f"parse-{name}.json"
    argv = [sys.executable, "-m", "bench.parse_time", str(model), str(data), str(out)]
    argv += ["--messages", str(messages), *(["--ours"] if ours else [])]
    with (work / f"parse-{name}.log").open("w") as log:
        subprocess.run(
            argv,
            cwd=ROOT,
            env={**env, "PYTHONPATH": str(ROOT)},
            check=True,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return json.loads(out.read_text("utf-8"))


if __name__ == "__main__":
    raise SystemExit(main())
