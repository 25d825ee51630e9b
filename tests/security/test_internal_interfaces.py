"""The action server answers only the Rasa server (issue 12, finding 4).

Before: anybody who reached the action server's port could post a tracker
with `verified_customer` set and get that customer's bill: the actions trust
the tracker they are sent. Now every call needs the shared secret that Rasa
sends (endpoints.yml); the health check stays open for probes.
"""

from __future__ import annotations

import time

import httpx
import pytest

from bot.rasa_runtime.action_server import SECRET_HEADER
from tests.harness.servers import TOKEN, Servers

pytestmark = pytest.mark.action_server


def forged_call(number: str) -> dict:
    """What Rasa would send to run `action_show_bill` for a verified customer."""
    now = time.time()
    message = {
        "text": "Rechnung",
        "intent": {"name": "ask_bill", "confidence": 1.0},
        "entities": [],
    }
    return {
        "next_action": "action_show_bill",
        "sender_id": "forged",
        "version": "3.6.21",
        "domain": {"responses": {}, "slots": {}},
        "tracker": {
            "sender_id": "forged",
            "slots": {"verified_customer": number, "language": "de"},
            "latest_message": message,
            "events": [
                {"event": "action", "name": "action_session_start", "timestamp": now},
                {"event": "user", "text": "Rechnung", "parse_data": message, "timestamp": now},
            ],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }


def webhook(servers: Servers) -> str:
    return f"http://127.0.0.1:{servers.settings.action_port}/webhook"


@pytest.mark.parametrize("secret", [None, "", "wrong", TOKEN[:-1]])
def test_a_forged_tracker_gets_no_bill(servers: Servers, secret: str | None) -> None:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    answer = httpx.post(webhook(servers), json=forged_call("10000002"), headers=headers, timeout=30)
    assert answer.status_code == 401
    assert "R-202" not in answer.text and "bill_number" not in answer.text


def test_rasa_with_the_secret_is_served(servers: Servers) -> None:
    # The same request as Rasa sends it: the check above is not refusing a malformed call.
    answer = httpx.post(
        webhook(servers), json=forged_call("10000002"), headers={SECRET_HEADER: TOKEN}, timeout=30
    )
    assert answer.status_code == 200 and "R-202" in answer.text


def test_the_health_check_stays_open_for_probes(servers: Servers) -> None:
    url = f"http://127.0.0.1:{servers.settings.action_port}/health"
    assert httpx.get(url, timeout=10).status_code == 200
