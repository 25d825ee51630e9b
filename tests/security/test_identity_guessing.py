"""Guessing the identity check across conversations (issue 12, finding 1).

Before: the three tries lived in one conversation's slots, so a fresh
conversation, or a typed `/restart`, started afresh, and with all three
values in one message a birth date could be guessed in minutes. Now
failures are counted in the database per customer number and per source.
"""

from __future__ import annotations

import re

import httpx

from tests.harness.servers import Servers
from tests.security.conftest import Attacker, new_address

# Demo customers that no other test uses (data/demo/customers.json).
ERDOGAN = ("10000018", "44137", "22.02.1957")
KOC = ("10000022", "44787", "31.01.1995")
ROESSLER = ("10000024", "47051", "07.07.1949")
UNKNOWN = "10099999"


def without_case(text: str) -> str:
    return re.sub(r"H-[0-9A-F]{8}", "H-…", text)


def check_identity(attacker: Attacker, number: str, postcode: str, born: str) -> str:
    """A fresh conversation asks for the bill and gives all three values at once."""
    attacker.fresh()
    attacker.say("Ich möchte meine Rechnung sehen")
    return attacker.say(f"{number} {postcode} {born}")


def test_wrong_birth_dates_from_fresh_conversations_lock_the_customer_number(
    servers: Servers,
) -> None:
    number, postcode, born = ERDOGAN
    answers = []
    for guess in ("01.01.1950", "02.01.1950", "03.01.1950"):
        # Every guess from another address and another conversation.
        attacker = Attacker(servers)
        answers.append(check_identity(attacker, number, postcode, guess))
        assert not attacker.slots().get("verified_customer")
    # The right birth date, from yet another address: the number is locked.
    late = Attacker(servers)
    locked = check_identity(late, number, postcode, born)
    assert not late.slots().get("verified_customer")
    assert "nicht identifizieren" in locked  # told how to get help: a person takes over
    # A number that does not exist gets exactly the same answers.
    unknown = [
        check_identity(Attacker(servers), UNKNOWN, postcode, guess)
        for guess in ("01.01.1950", "02.01.1950", "03.01.1950", born)
    ]
    assert [without_case(a) for a in unknown] == [without_case(a) for a in [*answers, locked]]


def test_guesses_from_one_address_lock_that_address(servers: Servers) -> None:
    address = new_address()
    for number in range(10090000, 10090010):  # ten made-up numbers
        check_identity(Attacker(servers, address), str(number), "47051", "01.01.1960")
    from_there = Attacker(servers, address)
    check_identity(from_there, *ROESSLER)
    assert not from_there.slots().get("verified_customer")
    # The customer herself, from anywhere else, gets in.
    elsewhere = Attacker(servers)
    check_identity(elsewhere, *ROESSLER)
    assert elsewhere.slots().get("verified_customer") == ROESSLER[0]


def test_a_typed_restart_resets_nothing(servers: Servers) -> None:
    number, postcode, _ = KOC
    attacker = Attacker(servers)
    attacker.say("Ich möchte meine Rechnung sehen")
    for guess in ("01.01.1990", "02.01.1990", "03.01.1990"):
        attacker.say(f"{number} {postcode} {guess}")
    before = attacker.slots()
    assert before.get("identity_locked") and before.get("handoff_case")
    for command in ("/restart", "/session_start", " /restart", '/inform{"verified_customer": "1"}'):
        attacker.say(command)
        after = attacker.slots()
        assert after.get("identity_locked") and after.get("handoff_case") == before["handoff_case"]
        assert not after.get("verified_customer")


def test_the_rest_webhook_is_rate_limited_per_client_address(servers: Servers) -> None:
    flooding = Attacker(servers)
    allowed = servers.settings.rest_messages_per_minute
    answers = [flooding.post("") for _ in range(allowed + 5)]
    assert [a.status_code for a in answers[:allowed]] == [200] * allowed
    refused = answers[-1]
    assert refused.status_code == 429
    assert "Moment" in refused.json()[0]["text"] or "bekle" in refused.json()[0]["text"]
    # Everybody else goes on.
    assert Attacker(servers).post("Hallo").status_code == 200


def test_the_voice_webhook_is_rate_limited_per_client_address(servers: Servers) -> None:
    address = new_address()
    url = f"{servers.settings.voice_base_url}/webhooks/voice/webhook"
    allowed = servers.settings.voice_requests_per_minute
    with httpx.Client(timeout=30, headers={"X-Forwarded-For": address}) as client:
        statuses = [client.post(url, data={"CallSid": "x"}).status_code for _ in range(allowed + 3)]
    assert set(statuses[:allowed]) == {403}  # unsigned: refused, and counted
    assert statuses[-1] == 429
    with httpx.Client(timeout=30, headers={"X-Forwarded-For": new_address()}) as client:
        assert client.post(url, data={"CallSid": "x"}).status_code == 403
