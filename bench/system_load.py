"""Load on a whole running system: REST channel → NLU → dialogue → actions → database → reply.

Scripted conversations are run many at once against a system's REST
webhook. Closed loop: each conversation sends its next message as soon as
the answer is in, so the numbers show the system's capacity and the
latency at that load; with `paced=True` each conversation waits like a
person typing (2 to 6 s) and the latency is what customers feel. Long
conversations, one at a time, show whether a turn gets slower as the
conversation grows.

The load generator is one asyncio loop with one `httpx.AsyncClient` (a
keep-alive connection per concurrent conversation); every run records its
own CPU (user + system of this process) so a reader can see it was not the
bottleneck.
"""

from __future__ import annotations

import asyncio
import random
import resource
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen
from typing import Any, Protocol

import httpx

from bench.report import generator_cpu, summary, turn_profile

Conversation = tuple[str, list[str]]  # (language, the customer's messages)
READ_AND_TYPE_SECONDS = (2.0, 6.0)
TIMEOUT_SECONDS = 120


class Running(Protocol):
    """A started system: where it takes messages, and its processes by name."""

    @property
    def webhook(self) -> str: ...

    processes: dict[str, Popen]


@dataclass(frozen=True)
class Plan:
    """What to run against each system."""

    levels: list[int]  # concurrent conversations, back to back
    per_level: int  # conversations per level (at least the level)
    paced_levels: list[int]  # concurrent conversations, paced; twice as many in all
    long_conversations: int
    long_turns: int


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of this process
    return usage.ru_utime + usage.ru_stime


def _message(sender: str, text: str, language: str) -> dict[str, Any]:
    return {"sender": sender, "message": text, "metadata": {"language": language}}


async def _converse(
    client: httpx.AsyncClient,
    webhook: str,
    number: int,
    conversation: Conversation,
    paced: bool,
    timings: list[float],
) -> None:
    language, texts = conversation
    sender = f"bench-{number}-{uuid.uuid4().hex[:8]}"
    rng = random.Random(number)
    for text in texts:
        if paced:
            await asyncio.sleep(rng.uniform(*READ_AND_TYPE_SECONDS))
        started = time.perf_counter()
        reply = await client.post(webhook, json=_message(sender, text, language))
        elapsed = (time.perf_counter() - started) * 1000
        reply.raise_for_status()
        timings.append(elapsed)


async def _load(
    webhook: str,
    conversations: list[Conversation],
    concurrency: int,
    count: int,
    paced: bool,
    timings: list[float],
) -> None:
    numbers = iter(range(count))  # shared by the workers: one loop, no lock needed
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, limits=limits) as client:

        async def worker() -> None:
            for number in numbers:
                conversation = conversations[number % len(conversations)]
                await _converse(client, webhook, number, conversation, paced, timings)

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def run_load(
    webhook: str, conversations: list[Conversation], concurrency: int, count: int, paced: bool
) -> dict[str, Any]:
    """`count` conversations, `concurrency` at a time; latency, throughput, generator CPU."""
    timings: list[float] = []
    cpu, started = _cpu_seconds(), time.perf_counter()
    asyncio.run(_load(webhook, conversations, concurrency, count, paced, timings))
    wall, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    return {
        **summary(timings, wall, concurrent=concurrency, paced=paced, conversations=count),
        **generator_cpu(cpu, wall),
    }


async def _long(
    webhook: str, cycle: list[str], language: str, conversations: int, turns: int
) -> tuple[list[list[float]], int]:
    series, unanswered = [], 0
    async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
        for number in range(conversations):
            sender, timings = f"bench-long-{number}-{uuid.uuid4().hex[:8]}", []
            for turn in range(turns):
                message = _message(sender, cycle[turn % len(cycle)], language)
                started = time.perf_counter()
                reply = await client.post(webhook, json=message)
                timings.append((time.perf_counter() - started) * 1000)
                reply.raise_for_status()
                unanswered += not reply.json()
            series.append(timings)
    return series, unanswered


def long_conversations(
    webhook: str, cycle: list[str], language: str, conversations: int, turns: int
) -> dict[str, Any]:
    """Unloaded: `conversations` one after another, `turns` each, cycling through
    `cycle`; the latency of every turn and its profile by turn number."""
    cpu, started = _cpu_seconds(), time.perf_counter()
    series, unanswered = asyncio.run(_long(webhook, cycle, language, conversations, turns))
    wall, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    return {
        **turn_profile(series),
        "turns_without_answer": unanswered,
        "latencies_ms": [[round(ms, 1) for ms in timings] for timings in series],
        **generator_cpu(cpu, wall),
    }


def _kilobytes(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def _descendants(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except OSError:  # the thread ended meanwhile, or a kernel without the file
            continue
        for child in map(int, children):
            found += [child, *_descendants(child)]
    return found


def memory_mb(processes: dict[str, Popen]) -> dict[str, dict[str, float]]:
    """Resident memory (Linux) of every process and its children, by name: the peak
    (VmHWM) and now (VmRSS), in MB."""
    memory = {}
    for name, proc in processes.items():
        pids = {name: proc.pid}
        pids.update({f"{name} (child {pid})": pid for pid in _descendants(proc.pid)})
        for label, pid in pids.items():
            memory[label] = {
                "peak_mb": round(_kilobytes(pid, "VmHWM") / 1024, 1),
                "current_mb": round(_kilobytes(pid, "VmRSS") / 1024, 1),
            }
    return memory


def measure(
    running: Running,
    conversations: list[Conversation],
    long_cycle: list[str],
    long_language: str,
    plan: Plan,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Every load of `plan` against a started system; then its processes' memory."""
    webhook = running.webhook
    run_load(webhook, conversations, 1, len(conversations), paced=False)  # warm-up
    rows = []
    for level in plan.levels:
        say(f"back to back, {level} concurrent ...")
        rows.append(run_load(webhook, conversations, level, max(plan.per_level, level), False))
        say(_line(rows[-1]))
    for level in plan.paced_levels:
        say(f"paced, {level} concurrent ...")
        rows.append(run_load(webhook, conversations, level, level * 2, paced=True))
        say(_line(rows[-1]))
    say(f"{plan.long_conversations} long conversations of {plan.long_turns} turns ...")
    long = long_conversations(
        webhook, long_cycle, long_language, plan.long_conversations, plan.long_turns
    )
    say(
        f"turn 1 {long['turn_1_ms']} ms, turn {long['turns']} {long['turn_last_ms']} ms; "
        f"turns 1-10 {long['first_window_ms']} ms, last 10 {long['last_window_ms']} ms"
    )
    return {"load": rows, "long": long, "memory_mb": memory_mb(running.processes)}


def _line(row: dict[str, Any]) -> str:
    return (
        f"{row['turns']} turns, p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms, "
        f"{row['turns_per_second']} turns/s, generator CPU {row['generator_cpu_percent']} %"
    )
