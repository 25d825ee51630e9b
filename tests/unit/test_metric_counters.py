"""Counters for /metrics (bot/domain/services/stats.py) and who may scrape (bot/infra/metrics.py)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.domain.services import handoff, stats
from bot.infra.metrics import may_scrape
from bot.infra.settings import load_settings


def test_counting_makes_the_row_then_adds_to_it(session: Session) -> None:
    stats.count(session, "fallbacks")
    stats.count(session, "fallbacks")
    stats.count(session, "handoffs", "web", "upset")
    assert stats.counted(session) == {
        "fallbacks": {(): 2},
        "handoffs": {("web", "upset"): 1},
    }


def test_a_new_case_is_counted_a_reused_one_is_not(session: Session) -> None:
    for _ in range(2):
        handoff.open_case(
            session,
            conversation_id="conv-counted",
            reason="customer_request",
            language="de",
            channel="voice",
            customer_number=None,
            transcript=[],
        )
    assert stats.counted(session)["handoffs"] == {("voice", "customer_request"): 1}


def test_only_this_machine_our_proxies_or_the_token_may_scrape() -> None:
    settings = load_settings().replace(metrics_token="s3cret-token")
    assert may_scrape(settings, None, None)  # this machine, our own proxies
    assert not may_scrape(settings, "198.51.100.9", None)
    assert not may_scrape(settings, "198.51.100.9", "Bearer wrong")
    assert may_scrape(settings, "198.51.100.9", "Bearer s3cret-token")
    nobody_else = load_settings().replace(metrics_token="")
    assert not may_scrape(nobody_else, "198.51.100.9", "Bearer ")
