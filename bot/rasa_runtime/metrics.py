"""Prometheus metrics of a Rasa instance and of the action server, at `GET /metrics`.

Counted in this process when things happen; every process is scraped on its
own and Prometheus adds them up (the web app exports its own, bot/web/metrics.py).

- `RUNTIME` (a Rasa instance): turns of the REST and phone channels (web chat
  turns are timed by the web app, end to end), conversations begun (with the
  handoffs counted in the database, containment), apologies for a failed
  action server, tracker store failures, requests Twilio re-sent.
- `ACTIONS` (wherever the custom actions run: Rasa itself with
  ACTIONS=in-process, else the action server): time and failures per action.

The route answers only what `may_scrape_from` allows (bot/infra/metrics.py);
Rasa's token neither opens nor is needed for it.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.domain.services.stats import CHANNELS
from bot.infra.metrics import CONTENT_TYPE, REFUSAL, TURN_BUCKETS, may_scrape_from
from bot.infra.settings import Settings

RUNTIME = CollectorRegistry()
ACTIONS = CollectorRegistry()

TURN_SECONDS = Histogram(
    "stadtwerk_turn_seconds",
    "Time from a customer's message to the bot's answer",
    labelnames=["channel"],
    buckets=TURN_BUCKETS,
    registry=RUNTIME,
)
CONVERSATIONS = Counter(
    "stadtwerk_conversations",
    "Conversations begun (their first customer message), by channel",
    labelnames=["channel"],
    registry=RUNTIME,
)
APOLOGIES = Counter(
    "stadtwerk_apologies",
    "Turns in which the action server failed and the bot apologised",
    registry=RUNTIME,
)
TRACKER_STORE_FAILURES = Counter(
    "stadtwerk_tracker_store_failures",
    "Reads and saves of a conversation that the tracker store failed",
    labelnames=["operation"],
    registry=RUNTIME,
)
TWILIO_RETRIES = Counter(
    "stadtwerk_twilio_retries",
    "Requests Twilio re-sent, answered from the stored answer",
    registry=RUNTIME,
)
ACTION_SECONDS = Histogram(
    "stadtwerk_action_seconds",
    "Time a custom action took",
    labelnames=["action"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=ACTIONS,
)
ACTION_FAILURES = Counter(
    "stadtwerk_action_failures",
    "Custom actions that failed (raised)",
    labelnames=["action"],
    registry=ACTIONS,
)
# Every series exists from the start, so a rate sees the first event.
for _channel in ("rest", "voice"):
    TURN_SECONDS.labels(_channel)
for _channel in CHANNELS:
    CONVERSATIONS.labels(_channel)
for _operation in ("read", "save"):
    TRACKER_STORE_FAILURES.labels(_operation)


def serve(app: Sanic, settings: Settings, *registries: CollectorRegistry) -> None:
    """Add `GET /metrics` with `registries` to `app`, for Prometheus only."""

    async def metrics(request: Request) -> HTTPResponse:
        headers = request.headers
        if not may_scrape_from(
            settings, request.ip, headers.get("X-Forwarded-For"), headers.get("Authorization")
        ):
            return response.json(REFUSAL, status=403)
        body = b"".join(generate_latest(registry) for registry in registries)
        return response.raw(body, content_type=CONTENT_TYPE)

    app.add_route(metrics, "/metrics", methods=["GET"], name="stadtwerk_metrics")


_sdk_run = ActionExecutor.run


async def timed_run(executor: ActionExecutor, action_call: dict[str, Any]) -> Any:
    """rasa-sdk's `ActionExecutor.run`, timed and counted per registered action."""
    name = action_call.get("next_action")
    if name not in executor.actions:  # unknown or missing: rasa-sdk's own error, no label
        return await _sdk_run(executor, action_call)
    started = time.perf_counter()
    try:
        return await _sdk_run(executor, action_call)
    except ActionExecutionRejection:
        raise  # a form declining a value is dialogue, not a failure
    except Exception:
        ACTION_FAILURES.labels(name).inc()
        raise
    finally:
        ACTION_SECONDS.labels(name).observe(time.perf_counter() - started)


# what time_actions() replaces (server.REPLACED lists every patch)
REPLACED = ((ActionExecutor, "run"),)


def time_actions() -> None:
    """Time the custom actions this process runs."""
    ActionExecutor.run = timed_run  # type: ignore[method-assign]
