"""Prometheus metrics of the whole assistant, served by the app at `GET /metrics`.

Turn latency is measured where the app sees it (web chat turns). Counts that
every channel and every Rasa instance contribute to (fallbacks, handoffs,
calls in progress) are read from the shared databases at scrape time, so
they are right however many processes run. No personal data: labels are
channels, languages, reasons and states only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from bot.domain.models import HandoffCase, PhoneCall, utcnow
from bot.domain.services.stats import events_table
from bot.infra.db import get_engine, session_scope
from bot.infra.settings import Settings

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
CALL_MAX_HOURS = 2  # a call "in progress" longer than this lost its status callback


class StoreCollector(Collector):
    """Counts from the databases, read when Prometheus scrapes."""

    def __init__(self, settings: Settings, live_chats: Callable[[], int]) -> None:
        self.settings = settings
        self.live_chats = live_chats

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        handoffs = CounterMetricFamily(
            "stadtwerk_handoffs", "Conversations handed to a person", labels=["channel", "reason"]
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
            for channel, reason, count in session.execute(
                select(HandoffCase.channel, HandoffCase.reason, func.count()).group_by(
                    HandoffCase.channel, HandoffCase.reason
                )
            ):
                handoffs.add_metric([channel, reason], count)
            for status, count in session.execute(
                select(HandoffCase.status, func.count())
                .where(HandoffCase.status.in_(("open", "claimed")))
                .group_by(HandoffCase.status)
            ):
                queue.add_metric([status], count)
            calls = session.scalar(
                select(func.count())
                .select_from(PhoneCall)
                .where(
                    PhoneCall.status == "in-progress",
                    PhoneCall.started_at > utcnow() - dt.timedelta(hours=CALL_MAX_HOURS),
                )
            )
        active.add_metric(["web"], self.live_chats())
        active.add_metric(["voice"], calls or 0)
        yield handoffs
        yield queue
        yield active
        yield self._fallbacks()

    def _fallbacks(self) -> CounterMetricFamily:
        fallbacks = CounterMetricFamily(
            "stadtwerk_fallbacks", "Customer messages the bot did not understand"
        )
        table = events_table()
        try:
            with get_engine(self.settings.tracker_store_url).connect() as connection:
                count = connection.execute(
                    select(func.count())
                    .select_from(table)
                    .where(table.c.type_name == "user", table.c.intent_name == "nlu_fallback")
                ).scalar_one()
        except DBAPIError:  # no conversations stored yet
            count = 0
        fallbacks.add_metric([], count)
        return fallbacks


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
