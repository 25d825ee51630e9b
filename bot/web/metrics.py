"""Prometheus metrics of the whole assistant, served by the app at `GET /metrics`.

Turn latency is measured where the app sees it (web chat turns). What every
channel and every Rasa instance contributes to (handoffs, fallbacks) is
counted in the database when it happens (bot/domain/services/stats.py), and
what is going on now (the queue, calls in progress) is read through indexes,
so a scrape costs a few small queries however much is stored. No personal
data: labels are channels, languages, reasons and states only.

Only Prometheus may scrape: requests from this machine or our own proxies
(naming no client), or with `Authorization: Bearer <METRICS_TOKEN>`.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from bot.domain.services import stats
from bot.infra.db import session_scope
from bot.infra.settings import Settings

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def may_scrape(settings: Settings, client: str | None, authorization: str | None) -> bool:
    """Whether a request may read the metrics.

    `client` is None for this machine and our own proxies (bot/web/context.py);
    anyone else needs the bearer token, if one is set.
    """
    if client is None:
        return True
    token = settings.metrics_token
    given = (authorization or "").removeprefix("Bearer ").strip()
    return bool(token) and hmac.compare_digest(given.encode(), token.encode())


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
            "stadtwerk_fallbacks", "Customer messages the bot did not understand"
        )
        queue = GaugeMetricFamily(
            "stadtwerk_handoff_queue", "Handoff cases by state", labels=["status"]
        )
        active = GaugeMetricFamily(
            "stadtwerk_active_conversations",
            "Customers connected now (web widgets, phone calls)",
            labels=["channel"],
        )
        with session_scope(self.settings.database_url) as session:
            counted = stats.counted(session)
            waiting = stats.queue_now(session)
            calls = stats.calls_now(session)
        for (channel, reason), value in counted.get("handoffs", {}).items():
            handoffs.add_metric([channel, reason], value)
        fallbacks.add_metric([], counted.get("fallbacks", {}).get((), 0))
        for status, value in waiting.items():
            queue.add_metric([status], value)
        active.add_metric(["web"], self.live_chats())
        active.add_metric(["voice"], calls)
        yield handoffs
        yield queue
        yield active
        yield fallbacks


class Metrics:
    def __init__(self, settings: Settings, live_chats: Callable[[], int]) -> None:
        self.registry = CollectorRegistry()
        self.turn_seconds = Histogram(
            "stadtwerk_turn_seconds",
            "Time from a customer's message to the bot's answer",
            labelnames=["channel"],
            buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5, 10),
            registry=self.registry,
        )
        self.registry.register(StoreCollector(settings, live_chats))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
