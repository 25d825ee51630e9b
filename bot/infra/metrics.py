"""What every process's `GET /metrics` shares: who may scrape, the format, the buckets.

Each process (the web app, every Rasa instance, the action server) keeps its
own registry and is scraped on its own; Prometheus adds them up. Labels are
channels, languages, reasons, states and action names, never personal data.

Only Prometheus may scrape: requests from this machine or our own proxies
(naming no client), or with `Authorization: Bearer <METRICS_TOKEN>`. Rasa's
API token plays no part.
"""

from __future__ import annotations

import hmac

from bot.infra.network import named_client, trusted_set
from bot.infra.settings import Settings

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Seconds from a customer's message to the answer, in every process alike
#: (the phone's alert is at 0.3).
TURN_BUCKETS = (0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0, 10.0)
REFUSAL = {"detail": "metrics are for Prometheus only"}


def may_scrape(settings: Settings, client: str | None, authorization: str | None) -> bool:
    """Whether a request may read the metrics.

    `client` is None for this machine and our own proxies (`named_client`);
    anyone else needs the bearer token, if one is set.
    """
    if client is None:
        return True
    token = settings.metrics_token
    given = (authorization or "").removeprefix("Bearer ").strip()
    return bool(token) and hmac.compare_digest(given.encode(), token.encode())


def may_scrape_from(
    settings: Settings, peer: str | None, forwarded_for: str | None, authorization: str | None
) -> bool:
    """`may_scrape` for a request from `peer` (and what our proxies say it forwards)."""
    client = named_client(peer, forwarded_for, trusted_set(settings.trusted_proxies))
    return may_scrape(settings, client, authorization)
