"""Guessing the identity check across conversations (issue 12, finding 1).

Before: the three tries lived in one conversation's slots, so a fresh
conversation, or a typed `/restart`, started afresh, and with all three
values in one message a birth date could be guessed in minutes. Now
failures are counted in the database per customer number and per source.

Before (data protection follow-up): those counters, and the sources of
handoff cases, were keyed by plain SHA-256 digests, so anyone with a copy of
the database could try every customer number or address and find whose they
were. Now they are keyed digests (HMAC with PSEUDONYM_KEY).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable

import httpx
from sqlalchemy import select

from bot.domain.models import HandoffCase, HandoffSource, IdentityGuard
from bot.domain.services import identity
from bot.infra.db import session_scope
from tests.harness.servers import Servers
from tests.security.conftest import Attacker, new_address

# Demo customers that no other test uses (data/demo/customers.json).
ERDOGAN = ("10000018", "44137", "22.02.1957")
KOC = ("10000022", "44787", "31.01.1995")
ROESSLER = ("10000024", "47051", "07.07.1949")
TANRIVERDI = ("10000014", "47053", "29.03.1979")
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


def sha256_40(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def found_by_trying(
    stored: set[str], candidates: Iterable[str], digest_of: Callable[[str], str]
) -> list[str]:
    """The candidates whose digest is among the stored keys."""
    return [candidate for candidate in candidates if digest_of(candidate) in stored]


def test_a_copy_of_the_database_does_not_tell_whose_number_or_address_failed(
    servers: Servers,
) -> None:
    """Someone with the tables tries every customer number and address against the digests."""
    number, postcode, _ = TANRIVERDI
    address = new_address()
    attacker = Attacker(servers, address)
    check_identity(attacker, number, postcode, "01.01.1950")
    attacker.say("Ich möchte mit einem Mitarbeiter sprechen")
    with session_scope(servers.database_url) as session:
        guards = set(session.scalars(select(IdentityGuard.key)))
        sources = set(session.scalars(select(HandoffSource.key)))
        case_source = session.scalars(
            select(HandoffCase.source_key).where(HandoffCase.conversation_id == attacker.sender)
        ).one()
    # The failure was counted, under the servers' key.
    key = servers.settings.pseudonym_key.encode()
    assert identity.guard_key("customer", number, key) in guards
    assert identity.guard_key("source", f"rest:{address}", key) in guards
    assert case_source in sources
    # Every customer number of the range, every address of the attacker's /16:
    # none of their plain digests is stored (an attacker with the unkeyed
    # SHA-256 of the stored form finds nothing).
    numbers = (str(n) for n in range(10_000_000, 10_100_000))
    assert not found_by_trying(guards, numbers, lambda n: "customer:" + sha256_40(f"customer:{n}"))
    first, second, *_ = address.split(".")
    addresses = [f"{first}.{second}.{c}.{d}" for c in range(256) for d in range(256)]
    assert address in addresses
    assert not found_by_trying(
        guards, addresses, lambda ip: "source:" + sha256_40(f"source:rest:{ip}")
    )
    assert not found_by_trying(
        sources, addresses, lambda ip: "source:" + sha256_40(f"handoff:rest:{ip}")
    )
