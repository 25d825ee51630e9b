"""Server-side latency of the phone webhook per turn, at 1 and 20 concurrent calls.

    python -m bench.voice_latency [--calls-per-caller 3] [--concurrency 1 20]

Starts the real Rasa server and action server (as `make run` would) with a
fresh copy of the demo database, then holds scripted calls in German and
Turkish (language choice, bill question, identity check by keypad, bill,
goodbye) through the signed webhook, many at once. The latency of a turn is
what the server reports in its `Server-Timing` header: the time from
receiving Twilio's request to the TwiML answer, which the caller hears as
dead air. Writes `bench/results/voice_latency.json` and `.md`.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bot.db import session_scope
from bot.local_servers import Servers
from bot.migrate import upgrade
from bot.services import customer_data
from bot.settings import DEV_TWILIO_TOKEN, ROOT
from connectors.voice_sim import PhoneCall

RESULTS = ROOT / "bench" / "results"
DEMO = ROOT / "data" / "demo" / "customers.json"
# (language key, what the caller says/presses) per scripted call
SCRIPTS = {
    "de": [
        ("press", "1"),
        ("say", "Ich habe eine Frage zu meiner Rechnung"),
        ("press", "10000005#"),
        ("press", "45127#"),
        ("press", "30061947#"),
        ("say", "Danke, das war alles. Tschüss"),
    ],
    "tr": [
        ("press", "2"),
        ("say", "faturamı öğrenmek istiyorum"),
        ("press", "10000001#"),
        ("press", "47051#"),
        ("press", "12041980#"),
        ("say", "teşekkürler, hoşça kalın"),
    ],
}


class TimedCall(PhoneCall):
    """A simulated call that records the server's time for every request."""

    timings: list[float]

    def _post(self, url: str, params: dict[str, str]) -> httpx.Response:
        reply = super()._post(url, params)
        header = reply.headers.get("Server-Timing", "")
        if "dur=" in header:
            self.timings.append(float(header.split("dur=")[1]))
        return reply


def one_call(base_url: str, language: str) -> list[float]:
    call = TimedCall(base_url, DEV_TWILIO_TOKEN)
    call.timings = []
    call.start()
    for kind, value in SCRIPTS[language]:
        answer = call.press(value) if kind == "press" else call.say(value)
        if answer.ended:
            break
    call.hang_up()
    return call.timings


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))
    return ordered[index]


def measure(base_url: str, concurrency: int, calls_per_caller: int) -> dict[str, float]:
    jobs = [("de" if number % 2 == 0 else "tr") for number in range(concurrency * calls_per_caller)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        timings = [
            t for call in pool.map(lambda lang: one_call(base_url, lang), jobs) for t in call
        ]
    elapsed = time.perf_counter() - started
    return {
        "concurrent_calls": concurrency,
        "calls": len(jobs),
        "turns": len(timings),
        "p50_ms": round(percentile(timings, 0.50), 1),
        "p95_ms": round(percentile(timings, 0.95), 1),
        "max_ms": round(max(timings), 1),
        "mean_ms": round(statistics.fmean(timings), 1),
        "turns_per_second": round(len(timings) / elapsed, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls-per-caller", type=int, default=3)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 20])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-voice-") as tmp:
        work = Path(tmp)
        url = f"sqlite:///{work / 'stadtwerk.db'}"
        upgrade(url)
        with session_scope(url) as session:
            customer_data.import_customers(session, json.loads(DEMO.read_text("utf-8")))
        servers = Servers(database_url=url, log_dir=work)
        servers.start()
        try:
            base_url = servers.settings.voice_base_url
            one_call(base_url, "de")  # warm-up: models loaded, caches filled
            rows = [measure(base_url, n, args.calls_per_caller) for n in args.concurrency]
        finally:
            servers.stop()
    result = {
        "what": "server-side latency of POST /webhooks/voice/webhook per turn",
        "machine": f"{platform.machine()}, {platform.system()}, Python {platform.python_version()}",
        "target": "p95 < 300 ms at 20 concurrent calls",
        "results": rows,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "voice_latency.json").write_text(json.dumps(result, indent=2), "utf-8")
    lines = [
        "# Voice webhook latency (server side, per turn)",
        "",
        f"`python -m bench.voice_latency` on {result['machine']}. Target: {result['target']}.",
        "",
        "| concurrent calls | calls | turns | p50 ms | p95 ms | max ms | turns/s |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['concurrent_calls']} | {row['calls']} | {row['turns']} | {row['p50_ms']} "
            f"| {row['p95_ms']} | {row['max_ms']} | {row['turns_per_second']} |"
        )
    (RESULTS / "voice_latency.md").write_text("\n".join(lines) + "\n", "utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
