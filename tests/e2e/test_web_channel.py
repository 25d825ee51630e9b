"""The web app's channel into Rasa (connectors/web.py): only the app, only web chats.

The web app sends every customer message here with the shared secret and
gets the protocol's reply as JSON (bot/protocol.py). Nobody else may use it:
without the secret, or for a conversation that is not a web chat's, it
refuses and the conversation is not touched.
"""

from __future__ import annotations

import secrets

import httpx
import pytest

from bot.protocol import BotReply, Expects
from tests.harness.servers import TOKEN, Servers


def web_sender() -> str:
    return "web-" + secrets.token_hex(12)


def post(
    servers: Servers, path: str, body: object, authorization: str | None = f"Bearer {TOKEN}"
) -> httpx.Response:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return httpx.post(f"{servers.api}/webhooks/web/{path}", json=body, headers=headers, timeout=60)


def user_turns(servers: Servers, sender: str) -> int:
    tracker = httpx.get(
        f"{servers.api}/conversations/{sender}/tracker", params={"token": TOKEN}, timeout=30
    ).json()
    return sum(1 for event in tracker.get("events") or [] if event["event"] == "user")


def test_a_turn_answers_with_the_protocols_reply(servers: Servers) -> None:
    sender = web_sender()
    answer = post(
        servers, "turn", {"sender": sender, "message": "faturam ne kadar?", "language": "tr"}
    )
    assert answer.status_code == 200, answer.text
    reply = BotReply.from_json(answer.json())
    assert reply.language == "tr" and "müşteri numaranız" in " ".join(reply.texts)
    assert reply.expects == Expects("digits", 8)
    assert not reply.technical_problem and reply.handoff is None


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Bearer {TOKEN}x", TOKEN, f"Basic {TOKEN}", f"bearer {TOKEN}"],
)
def test_without_the_shared_secret_nothing_happens(
    servers: Servers, authorization: str | None
) -> None:
    sender = web_sender()
    body = {"sender": sender, "message": "Hallo", "language": "de"}
    for path in ("turn", "language", "resume"):
        refused = post(servers, path, {**body, "response": "utter_agent_returned"}, authorization)
        assert refused.status_code == 401
    assert user_turns(servers, sender) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"sender": "e2e-rest-conversation", "message": "Hallo", "language": "de"},
        {"sender": "CA" + "0" * 32, "message": "Hallo", "language": "de"},
        {"sender": "web-" + "0" * 23, "message": "Hallo", "language": "de"},
        {"sender": "WEB-" + "0" * 24, "message": "Hallo", "language": "de"},
        {"message": "Hallo", "language": "de"},
        {"sender": "web-" + "0" * 24, "message": "Hallo", "language": "en"},
        {"sender": "web-" + "0" * 24, "message": ["Hallo"], "language": "de"},
        {"sender": "web-" + "0" * 24, "message": "", "language": "de"},
        {"sender": "web-" + "0" * 24, "message": "x" * 2001, "language": "de"},
        [],
    ],
)
def test_requests_the_app_never_sends_are_refused(servers: Servers, body: object) -> None:
    answer = post(servers, "turn", body)
    assert answer.status_code == 400 and "error" in answer.json()


def test_only_the_agents_greetings_can_be_said_on_resume(servers: Servers) -> None:
    sender = web_sender()
    for response in ("utter_greet", "action_handoff", "utter_agent_returned; DROP", ""):
        answer = post(servers, "resume", {"sender": sender, "response": response})
        assert answer.status_code == 400
    assert user_turns(servers, sender) == 0


def test_the_language_the_customer_chose_holds_for_the_next_turn(servers: Servers) -> None:
    sender = web_sender()
    assert post(servers, "language", {"sender": sender, "language": "tr"}).status_code == 200
    # A German word alone does not switch a conversation held in Turkish.
    answer = post(servers, "turn", {"sender": sender, "message": "Rechnung", "language": "tr"})
    assert BotReply.from_json(answer.json()).language == "tr"
