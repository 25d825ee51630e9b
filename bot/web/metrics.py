"""Prometheus metrics of the web app, served at `GET /metrics` (guard: bot/infra/metrics.py).

Measured here: web chat turns and how long a case waited until an agent
claimed it. What every channel and every Rasa instance contributes to
(handoffs, fallbacks) is counted in the database when it happens
(bot/domain/services/stats.py), and what is going on now (the queue, calls in
progress) is read through indexes, so a scrape costs a few small queries
however much is stored. These database figures are the same on every web
instance: Prometheus takes their `max`, not their sum. The Rasa instances and
the action server export their own (bot/rasa_runtime/metrics.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from bot.domain.languages import LANGUAGES
from bot.domain.models import utcnow
from bot.domain.services import stats
from bot.infra.db import session_scope
from bot.infra.metrics import TURN_BUCKETS
from bot.infra.settings import Settings

#: Seconds a case waits for an agent (the promise is HANDOFF_WAIT_MINUTES, 5 by default).
WAIT_BUCKETS = (15, 30, 60, 120, 180, 240, 300, 420, 600, 900, 1800, 3600)


class StoreCollector(Collector):
    """Counters and the current queue from the database, read when Prometheus scrapes."""

    def __init__(self, settings: Settings, live_chats: Callable[[], int]) -> None:
        self.settings = settings
        self.live_chats = live_chats

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        handoffs = CounterMetricFamily(
            "stadtwerk_handoffs", "Conversations handed to a person", labels=["channel", "reason"]
        )
        fallbacks = CounterMetricFamily(
            "stadtwerk_fallbacks",
            "Customer messages the bot did not understand (NLU fallbacks)",
            labels=["language"],
        )
        queue = GaugeMetricFamily(
            "stadtwerk_handoff_queue", "Handoff cases by state", labels=["status"]
        )
        oldest = GaugeMetricFamily(
            "stadtwerk_handoff_oldest_wait_seconds",
            "How long the longest-waiting open case has waited (0: none waits)",
        )
        active = GaugeMetricFamily(
            "stadtwerk_active_conversations",
            "Customers connected now (web widgets, phone calls)",
            labels=["channel"],
        )
        with session_scope(self.settings.database_url) as session:
            counted = stats.counted(session)
            waiting = stats.queue_now(session)
            since = stats.oldest_waiting(session)
            calls = stats.calls_now(session)
        for (channel, reason), value in counted.get("handoffs", {}).items():
            handoffs.add_metric([channel, reason], value)
        by_language = dict.fromkeys(LANGUAGES, 0)
        for labels, value in counted.get("fallbacks", {}).items():
            # counted without a language before the label existed
            language = labels[0] if labels and labels[0] in LANGUAGES else "unknown"
            by_language[language] = by_language.get(language, 0) + value
        for language, value in by_language.items():
            fallbacks.add_metric([language], value)
        for status in ("open", "claimed"):
            queue.add_metric([status], waiting.get(status, 0))
        oldest.add_metric([], (utcnow() - since).total_seconds() if since else 0)
        active.add_metric(["web"], self.live_chats())
        active.add_metric(["voice"], calls)
        yield from (handoffs, queue, oldest, active, fallbacks)


class Metrics:
    """This web app process's registry: its own measurements and the store's counters."""

    def __init__(self, settings: Settings, live_chats: Callable[[], int]) -> None:
        self.registry = CollectorRegistry()
        self.turn_seconds = Histogram(
            "stadtwerk_turn_seconds",
            "Time from a customer's message to the bot's answer",
            labelnames=["channel"],
            buckets=TURN_BUCKETS,
            registry=self.registry,
        )
        self.turn_seconds.labels("web")
        self.handoff_wait_seconds = Histogram(
            "stadtwerk_handoff_wait_seconds",
            "Time from a handoff case's opening to an agent claiming it",
            buckets=WAIT_BUCKETS,
            registry=self.registry,
        )
        promised = Gauge(
            "stadtwerk_handoff_promised_wait_seconds",
            "The wait the customer is told to expect (HANDOFF_WAIT_MINUTES)",
            registry=self.registry,
        )
        promised.set(settings.handoff_wait_minutes * 60)
        self.registry.register(StoreCollector(settings, live_chats))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
