"""The three systems the benchmark compares: how each is trained and started, and what it is asked.

- ours: config.yml, served as `make run` serves it (tests.harness.servers).
- stock: Rasa's default configuration on our data and domain, served the
  stock way with our actions in rasa-sdk's action server (bench/stock_servers.py).
- moodbot: the project `rasa init` makes (English), served the stock way.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.stock_servers import StockServers, for_our_bot, our_bot_environment
from bench.system_load import Conversation, Running
from bench.training import init_moodbot, train
from bot.infra.settings import ROOT
from bot.ops.launcher import SERVER_KEEP_ALIVE_SECONDS
from tests.harness.servers import Servers, demo_database

NAMES = ("ours", "stock", "moodbot")
CONFIGS = {"ours": ROOT / "config.yml", "stock": ROOT / "bench" / "stock_config.yml"}

# bill questions, advance-payment changes and handoffs in both languages
OUR_CONVERSATIONS: list[Conversation] = [
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
# Ten messages that keep a conversation going (no goodbye, no person): the
# long conversations repeat them, so turns 1-10 and 41-50 are the same texts.
OUR_LONG_CYCLE = [
    "Hallo",
    "Ich habe eine Frage zu meiner Rechnung",
    "10000011",
    "45130",
    "05.10.1940",
    "Wie sind Ihre Öffnungszeiten?",
    "Was kostet Ökostrom?",
    "nein",
    "Danke",
    "Guten Tag",
]
# phrases of the moodbot's data/nlu.yml, along its stories and rules
MOODBOT_CONVERSATIONS: list[Conversation] = [
    ("en", ["hi", "I am sad", "yes", "great", "bye"]),
    ("en", ["hello", "I am feeling very good", "goodbye"]),
    ("en", ["hey", "not very good", "no", "bye"]),
    ("en", ["good morning", "are you a bot?", "I am great", "see you later"]),
    ("en", ["hey there", "I am disappointed", "of course", "bye bye"]),
    ("en", ["good evening", "my day was horrible", "not really", "good night"]),
]
MOODBOT_LONG_CYCLE = [
    "hello",
    "I am sad",
    "yes",
    "great",
    "hey",
    "not very good",
    "no",
    "are you a bot?",
    "I am feeling very good",
    "good morning",
]


@dataclass(frozen=True)
class System:
    """One system: what it is, how its training is timed, and what it is asked."""

    name: str
    description: str
    training: str
    conversations: list[Conversation]
    long_cycle: list[str]
    long_language: str


SYSTEMS = {
    "ours": System(
        "ours",
        "config.yml on our data and domain, served as `make run` serves it "
        "(our Rasa runtime, actions in the Rasa process, SQLite tracker store)",
        "`rasa train --config config.yml` (empty cache)",
        OUR_CONVERSATIONS,
        OUR_LONG_CYCLE,
        "de",
    ),
    "stock": System(
        "stock",
        "Rasa's default configuration (bench/stock_config.yml) on our data and domain, "
        "served the stock way: plain `rasa run` (in-memory tracker and lock store) "
        "and `rasa run actions` with our actions, none of our patches",
        "`rasa train --config bench/stock_config.yml` (empty cache)",
        OUR_CONVERSATIONS,
        OUR_LONG_CYCLE,
        "de",
    ),
    "moodbot": System(
        "moodbot",
        "the English project `rasa init` makes, served the stock way: plain `rasa run`, "
        "REST channel, no action server",
        "the whole `rasa init --no-prompt` (copies the project, then trains it; empty cache)",
        MOODBOT_CONVERSATIONS,
        MOODBOT_LONG_CYCLE,
        "en",
    ),
}


@dataclass
class Trained:
    """A system's model, and where its project (NLU data, working directory) is."""

    name: str
    model: Path
    seconds: float
    project: Path = ROOT

    @property
    def nlu_data(self) -> Path:
        return self.project / "data" / ("nlu" if self.name != "moodbot" else "nlu.yml")


def train_system(name: str, work: Path) -> Trained:
    """Train `name` from scratch in `work`."""
    if name == "moodbot":
        project, model, seconds = init_moodbot(work)
        return Trained(name, model, seconds, project)
    model, seconds = train(CONFIGS[name], work / "models", name)
    return Trained(name, model, seconds)


def moodbot_environment() -> dict[str, str]:
    """Rasa's own environment, but no telemetry and Sanic keeping idle
    connections as long as in our systems (the load generator's stay open)."""
    return {
        **os.environ,
        "RASA_TELEMETRY_ENABLED": "false",
        "SANIC_KEEP_ALIVE_TIMEOUT": str(SERVER_KEEP_ALIVE_SECONDS),
    }


def _database(work: Path) -> str:
    path = work / "stadtwerk.db"
    return f"sqlite:///{path}" if path.exists() else demo_database(path)


def environment(trained: Trained, work: Path) -> dict[str, str]:
    """The environment the system's Rasa process runs with."""
    if trained.name == "moodbot":
        return moodbot_environment()
    return our_bot_environment(_database(work), work)


@contextmanager
def serve(trained: Trained, work: Path) -> Iterator[Running]:
    """The system started with its model (and stopped afterwards)."""
    servers: Servers | StockServers
    if trained.name == "ours":
        servers = Servers(database_url=_database(work), log_dir=work, model=trained.model)
    elif trained.name == "stock":
        servers = for_our_bot(trained.model, _database(work), work)
    else:
        servers = StockServers(trained.model, work, moodbot_environment(), cwd=trained.project)
    try:
        servers.start()
        yield servers
    finally:
        servers.stop()
