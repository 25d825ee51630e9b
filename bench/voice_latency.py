"""Server-side latency of the phone webhook per turn, with 1 and 20 calls at once.

    python -m bench.voice_latency [--calls-per-caller 2] [--concurrency 1 20]

Starts the real Rasa server and action server (as `make run` would) with a
fresh copy of the demo database, then holds scripted calls in German and
Turkish (language choice, bill question, identity check by keypad, bill,
goodbye) through the signed webhook, many at once.

A call is paced like a real one: Twilio sends the next request only after
the caller has heard the answer (read at a text-to-speech pace) and has
spoken or typed theirs. So "20 concurrent calls" means 20 people on the
line, not 20 clients firing requests back to back. A second measurement
does exactly that (no pauses) to find the server's capacity in turns per
second, and from it how many paced calls one server can carry.

The latency of a turn is what the server reports in its `Server-Timing`
header: the time from receiving Twilio's request to the TwiML answer, which
the caller hears as dead air. Writes `bench/results/voice_latency.json`
and `.md`.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench.progress import Progress
from bench.report import machine, summary, table, write, yes_no
from bot.infra.settings import DEV_TWILIO_TOKEN
from bot.ops.phone_sim import Answer, PhoneCall
from tests.harness.servers import Servers, demo_database

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


# How long a caller is busy between two requests (seconds), see `pause()`.
SPOKEN_CHARS_PER_SECOND = 15.0  # text-to-speech at a normal pace
SPEAKING_CHARS_PER_SECOND = 12.0
THINKING_SECONDS = (0.5, 2.0)  # uniformly random: callers differ
SECONDS_PER_KEY = 0.3
SPEECH_END_SECONDS = 1.0  # Twilio's speechTimeout="auto" waits for a short silence
CALL_START_SPACING = 1.0


def pause(answer: Answer, kind: str, value: str, rng: random.Random) -> float:
    """Time from the server's answer to the caller's next request.

    The answer is played to the end, the caller thinks, then speaks (Twilio
    sends the request once speech ends, after its end-of-speech timeout) or
    types digits.
    """
    listening = len(answer.spoken) / SPOKEN_CHARS_PER_SECOND
    thinking = rng.uniform(*THINKING_SECONDS)
    if kind == "press":
        return listening + thinking + SECONDS_PER_KEY * len(value)
    speaking = len(value) / SPEAKING_CHARS_PER_SECOND + SPEECH_END_SECONDS
    return listening + thinking + speaking


class TimedCall(PhoneCall):
    """A simulated call that records the server's time for every request."""

    timings: list[float]

    def _post(self, url: str, params: dict[str, str]) -> httpx.Response:
        reply = super()._post(url, params)
        header = reply.headers.get("Server-Timing", "")
        if "dur=" in header:
            self.timings.append(float(header.split("dur=")[1]))
        return reply


def one_call(base_url: str, language: str, paced: bool = True, seed: int = 0) -> list[float]:
    rng = random.Random(seed)
    call = TimedCall(base_url, DEV_TWILIO_TOKEN)
    call.timings = []
    answer = call.start()
    for kind, value in SCRIPTS[language]:
        if paced:
            time.sleep(pause(answer, kind, value, rng))
        answer = call.press(value) if kind == "press" else call.say(value)
        if answer.ended:
            break
    call.hang_up()
    return call.timings


def measure(
    base_url: str, concurrency: int, calls_per_caller: int, paced: bool = True
) -> dict[str, float]:
    """Hold `concurrency` calls at a time until `calls_per_caller` each are done.

    Paced calls start one per `CALL_START_SPACING` seconds, as calls come in
    on a hotline, not all at the same instant.
    """

    def caller(number: int) -> list[float]:
        if paced:
            time.sleep(number * CALL_START_SPACING)
        timings = []
        for call in range(calls_per_caller):
            language = "de" if (number + call) % 2 == 0 else "tr"
            timings += one_call(base_url, language, paced, seed=number * 1000 + call)
        return timings

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        timings = [t for turns in pool.map(caller, range(concurrency)) for t in turns]
    return summary(
        timings,
        time.perf_counter() - started,
        concurrent_calls=concurrency,
        paced=paced,
        calls=concurrency * calls_per_caller,
    )


def _line(row: dict) -> str:
    """One run's figures, for the progress lines."""
    return (
        f"{row['turns']} turns, p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms, "
        f"{row['turns_per_second']} turns/s"
    )


def write_results(result: dict) -> str:
    lines = [
        "# Voice webhook latency (server side, per turn)",
        "",
        f"`python -m bench.voice_latency` on {result['machine']}, {result['cpus']} CPUs.",
        f"Target: {result['target']}.",
        "",
        "Paced calls wait, like real callers, until the answer has been spoken and",
        "the caller has answered; the unpaced run sends turns back to back and",
        "shows the server's capacity.",
        "",
        *table(
            [
                "concurrent calls",
                "paced",
                "calls",
                "turns",
                "p50 ms",
                "p95 ms",
                "max ms",
                "turns/s",
            ],
            [
                [r["concurrent_calls"], yes_no(r["paced"]), r["calls"], r["turns"]]
                + [r["p50_ms"], r["p95_ms"], r["max_ms"], r["turns_per_second"]]
                for r in result["results"]
            ],
            right_from=0,
        ),
        "",
        f"Capacity: {result['capacity_turns_per_second']} turns/s; a paced call makes "
        f"{result['turns_per_second_per_call']} turns/s, so one server carries about "
        f"{result['calls_one_server_carries']} calls at once before turns queue.",
    ]
    text = "\n".join(lines) + "\n"
    write("voice_latency", result, text)
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls-per-caller", type=int, default=2)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 20])
    args = parser.parse_args()
    most = max(args.concurrency)
    runs = [(n, True) for n in args.concurrency] + [(most, False)]
    names = [
        f"{'paced' if paced else 'back to back'}, {n} call{'' if n == 1 else 's'} at once"
        for n, paced in runs
    ]
    progress = Progress(["starting Rasa and the action server", "warm-up call", *names])
    with tempfile.TemporaryDirectory(prefix="bench-voice-") as tmp:
        work = Path(tmp)
        url = demo_database(work / "stadtwerk.db")
        servers = Servers(database_url=url, log_dir=work)
        with progress.phase("starting Rasa and the action server"):
            servers.start()
        try:
            base_url = servers.settings.voice_base_url
            with progress.phase("warm-up call"):  # models loaded, caches filled
                one_call(base_url, "de", paced=False)
            rows = []
            for name, (concurrency, paced) in zip(names, runs, strict=True):
                with progress.phase(name):
                    rows.append(measure(base_url, concurrency, args.calls_per_caller, paced))
                    progress.say(f"  {_line(rows[-1])}")
        finally:
            servers.stop()
    single = rows[0]
    per_call = single["turns_per_second"] / single["concurrent_calls"]
    capacity = rows[-1]["turns_per_second"]
    result = {
        "what": "server-side latency of POST /webhooks/voice/webhook per turn",
        **machine(),
        "target": "p95 < 300 ms at 20 concurrent (paced) calls",
        "results": rows,
        "capacity_turns_per_second": capacity,
        "turns_per_second_per_call": round(per_call, 3),
        "calls_one_server_carries": int(capacity / per_call) if per_call else None,
    }
    print(write_results(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
