"""Load on the whole system: REST channel → NLU → dialogue → action server → database → reply.

A mix of scripted conversations in both languages (bill questions,
advance-payment changes, handoffs) is run many at once against real servers
started with a given model. Closed loop: each conversation sends its next
message as soon as the answer is in, so the numbers show the system's
capacity and the latency at that load; with `paced=True` each conversation
waits like a person typing (2 to 6 s) and the latency is what customers feel.
"""

from __future__ import annotations

import random
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench.report import summary
from tests.harness.servers import Servers, demo_database

CONVERSATIONS = [
    (
        "de",
        [
            "Hallo",
            "Ich habe eine Frage zu meiner Rechnung",
            "10000011",
            "45130",
            "05.10.1940",
            "Danke, tschüss",
        ],
    ),
    (
        "tr",
        [
            "Merhaba",
            "faturamı öğrenmek istiyorum",
            "10000006",
            "44139",
            "14.02.1992",
            "teşekkürler",
        ],
    ),
    ("de", ["Ich möchte meinen Abschlag ändern", "10000013", "44139", "17.01.1962", "85 €", "ja"]),
    (
        "tr",
        [
            "aylık ödememi değiştirmek istiyorum",
            "10000016",
            "46045",
            "11.06.1966",
            "70 avro",
            "evet",
        ],
    ),
    ("de", ["Guten Tag", "Ich möchte mit einem Mitarbeiter sprechen"]),
    ("tr", ["bir temsilciyle görüşmek istiyorum"]),
]
READ_AND_TYPE_SECONDS = (2.0, 6.0)


def peak_memory_mb(pid: int) -> float:
    """The process's peak resident memory (Linux: VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def conversation(
    webhook: str, number: int, paced: bool, timings: list[float], lock: threading.Lock
) -> None:
    language, turns = CONVERSATIONS[number % len(CONVERSATIONS)]
    sender = f"bench-{number}-{uuid.uuid4().hex[:8]}"
    rng = random.Random(number)
    with httpx.Client(timeout=120) as client:
        for text in turns:
            if paced:
                time.sleep(rng.uniform(*READ_AND_TYPE_SECONDS))
            started = time.perf_counter()
            reply = client.post(
                webhook,
                json={"sender": sender, "message": text, "metadata": {"language": language}},
            )
            elapsed = (time.perf_counter() - started) * 1000
            reply.raise_for_status()
            with lock:
                timings.append(elapsed)


def run_load(webhook: str, concurrency: int, conversations: int, paced: bool) -> dict[str, float]:
    timings: list[float] = []
    lock = threading.Lock()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for future in [
            pool.submit(conversation, webhook, n, paced, timings, lock)
            for n in range(conversations)
        ]:
            future.result()
    return summary(timings, time.perf_counter() - started, concurrent=concurrency, paced=paced)


def measure(model: Path, levels: list[int], paced_level: int, per_level: int) -> dict:
    """Start the servers with `model` and run every load level against them."""
    with tempfile.TemporaryDirectory(prefix="bench-system-") as tmp:
        work = Path(tmp)
        url = demo_database(work / "stadtwerk.db")
        servers = Servers(database_url=url, log_dir=work, model=model)
        servers.start()
        try:
            run_load(servers.webhook, 1, len(CONVERSATIONS), paced=False)  # warm-up
            rows = [
                run_load(servers.webhook, level, max(per_level, level), paced=False)
                for level in levels
            ]
            rows.append(run_load(servers.webhook, paced_level, paced_level * 2, paced=True))
            memory = {name: peak_memory_mb(proc.pid) for name, proc in servers.processes.items()}
        finally:
            servers.stop()
    return {"load": rows, "peak_memory_mb": memory}
