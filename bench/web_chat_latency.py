"""Web chat latency: a customer's message to the bot's answer, and an agent's reply to the widget.

    python -m bench.web_chat_latency [--customers 1 20]

Starts Rasa, the action server and the web app (as `make run` would) with a
fresh demo database. Customers chat through the widget's WebSocket, paced
like people who read the answer and type the next message; the time of a
turn is from sending the message to the bot's last answer (what the customer
waits for, including Rasa and the action server). Then one agent claims a
handed-off chat and sends messages; their time is from the console's POST to
the message arriving in the widget. Writes bench/results/web_chat_latency.*.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from pathlib import Path

from bench.progress import Progress
from bench.report import machine, summary, table, write, yes_no
from bot.domain.services import agents
from bot.infra.db import session_scope
from bot.infra.settings import ROOT
from tests.harness.servers import Servers, demo_database
from tests.harness.web_clients import Console, Widget

DEMO = ROOT / "data" / "demo"
CONVERSATIONS = {
    "de": [
        "Hallo",
        "Wie hoch ist mein Abschlag?",
        "10000002",
        "44137",
        "12.03.1975",
        "Danke, tschüss",
    ],
    "tr": [
        "Merhaba",
        "faturamı öğrenmek istiyorum",
        "10000001",
        "47051",
        "12.04.1980",
        "teşekkürler",
    ],
}
READ_AND_TYPE_SECONDS = (2.0, 6.0)


async def customer(app_url: str, number: int, paced: bool) -> list[float]:
    rng = random.Random(number)
    language = "de" if number % 2 == 0 else "tr"
    timings = []
    if paced:
        await asyncio.sleep(number * 0.5)
    async with Widget(app_url, language=language) as widget:
        for text in CONVERSATIONS[language]:
            if paced:
                await asyncio.sleep(rng.uniform(*READ_AND_TYPE_SECONDS))
            started = time.perf_counter()
            await widget.say(text)
            timings.append((time.perf_counter() - started) * 1000)
    return timings


async def customers(app_url: str, count: int, paced: bool = True) -> dict[str, object]:
    started = time.perf_counter()
    runs = await asyncio.gather(*(customer(app_url, n, paced) for n in range(count)))
    timings = [t for run in runs for t in run]
    return summary(timings, time.perf_counter() - started, customers=count, paced=paced)


async def agent_replies(app_url: str, messages: int = 30) -> dict[str, object]:
    console = Console(app_url)
    console.login("aylin", "demo-aylin-2026")
    async with Widget(app_url) as widget:
        await widget.say("Ich möchte mit einem Mitarbeiter sprechen")
        case_id = next(c["case_id"] for c in console.get("/agent/api/cases").json() if c["live"])
        assert console.post(f"/agent/api/cases/{case_id}/claim").status_code == 200
        await widget.next("state")
        timings = []
        started_all = time.perf_counter()
        for number in range(messages):
            started = time.perf_counter()
            answer = await asyncio.to_thread(
                console.post, f"/agent/api/cases/{case_id}/messages", {"text": f"Antwort {number}"}
            )
            assert answer.status_code == 201
            while (await widget.next("message"))["from"] != "agent":
                pass
            timings.append((time.perf_counter() - started) * 1000)
    return summary(timings, time.perf_counter() - started_all, what="agent reply to widget")


def write_results(result: dict) -> str:
    lines = [
        "# Web chat latency",
        "",
        f"`python -m bench.web_chat_latency` on {result['machine']}, {result['cpus']} CPUs.",
        "A turn: from the customer's message to the bot's last answer in the widget.",
        "",
        *table(
            ["customers at once", "paced", "turns", "p50 ms", "p95 ms", "max ms", "turns/s"],
            [
                [r["customers"], yes_no(r["paced"]), r["turns"], r["p50_ms"], r["p95_ms"]]
                + [r["max_ms"], r["turns_per_second"]]
                for r in result["customers"]
            ],
            right_from=0,
        ),
    ]
    agent = result["agent_replies"]
    lines += [
        "",
        f"Agent reply (console POST → widget): {agent['turns']} messages, p50 "
        f"{agent['p50_ms']} ms, p95 {agent['p95_ms']} ms.",
    ]
    text = "\n".join(lines) + "\n"
    write("web_chat_latency", result, text)
    return text


STARTING = "starting Rasa, the action server and the web app"
WARM_UP = "warm-up chat"
AGENT = "an agent's replies"


def runs(counts: list[int]) -> list[tuple[str, int, bool]]:
    """The customer runs: progress name, customers at once, paced."""
    every = [(count, True) for count in counts] + [(max(counts), False)]
    return [
        (f"{'paced' if p else 'back to back'}, {n} customer{'' if n == 1 else 's'} at once", n, p)
        for n, p in every
    ]


async def measure(app_url: str, counts: list[int], progress: Progress) -> dict[str, object]:
    with progress.phase(WARM_UP):
        await customer(app_url, 0, paced=False)
    rows = []
    for name, count, paced in runs(counts):
        with progress.phase(name):
            row = await customers(app_url, count, paced)
            progress.say(f"  {row['turns']} turns, p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms")
        rows.append(row)
    with progress.phase(AGENT):
        replies = await agent_replies(app_url)
    return {"customers": rows, "agent_replies": replies}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[1, 20])
    args = parser.parse_args()
    names = [name for name, _, _ in runs(args.customers)]
    progress = Progress([STARTING, WARM_UP, *names, AGENT])
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        work = Path(tmp)
        url = demo_database(work / "stadtwerk.db")
        with session_scope(url) as session:
            for record in json.loads((DEMO / "agents.json").read_text("utf-8")):
                agents.create_agent(session, **record)
        servers = Servers(database_url=url, log_dir=work)
        with progress.phase(STARTING):
            servers.start()
            servers.start_web()
        try:
            measured = asyncio.run(measure(servers.app_url, args.customers, progress))
        finally:
            servers.stop()
    result = {
        "what": "web chat: customer message to the bot's answer; agent reply to the widget",
        **machine(),
        **measured,
    }
    print(write_results(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
