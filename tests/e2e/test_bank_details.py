"""Bank details and SEPA direct debit against the real servers: REST in German and
Turkish, a call with the IBAN keyed in, the web chat handed to an agent, and the
servers' logs. The database shows what changed; no reply, log or transcript an
agent reads holds a full IBAN."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlalchemy import select

from bot.domain.models import AuditEntry, Customer, HandoffCase, SepaMandate
from bot.domain.services import bank_details as bd
from bot.infra.db import session_scope
from tests.e2e.conftest import Chat, handoff_for, joined, row_counts
from tests.e2e.test_voice import new_call
from tests.harness.servers import Servers
from tests.harness.web_clients import Console, Widget

NEUMANN = {"number": "10000025", "identity": "10000025 44137 21.06.1983"}
KAYA = {"number": "10000028", "identity": "10000028 44139 03.12.1986"}
BAECKER = {"number": "10000017", "identity": "Kundennummer 10000017, PLZ 45127, 09.09.1999"}
KOEHLER = {"number": "10000015", "identity": "10000015 44787 24.12.1950"}
KARAGOEZ = {"number": "10000016", "identity": "10000016 46045 11.06.1966"}
FUSS = {"number": "10000019", "identity": "10000019 47057 13.11.1944"}
SAHIN = {"number": "10000012", "identity": "10000012 45879 02.04.1988"}
SCHUETZ = "10000023"  # on the phone: 46045, 21.10.2002

# IBANs the customers give in this module (each checked with read_iban)
SOCGEN = "DE75512108001245126199"  # Societe Generale
ING = "DE44500105175407324931"  # ING-DiBa
ESSEN = "DE59360501050012345670"  # Sparkasse Essen
GLS = "DE71430609670012345700"  # GLS Gemeinschaftsbank
WRONG = {  # one check digit off
    "socgen": "DE75512108001245126198",
    "essen": "DE59360501050012345671",
    "gls": "DE71430609670012345701",
    "gls2": "DE71430609670012345702",
}
ALL_GIVEN = [SOCGEN, ING, ESSEN, GLS, *WRONG.values()]
CREDITOR = "DE98ZZZ09999999999"
OUR_IBAN = "DE21 4405 0199 0001 0000 12"


def grouped(iban: str) -> str:
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def forms_of(iban: str) -> list[str]:
    """How an IBAN may appear: whole, in groups, lower case, as the 20 keyed digits."""
    return [iban, grouped(iban), iban.lower(), iban[2:], grouped(iban)[5:]]


def assert_no_full_iban(text: str, where: str) -> None:
    for iban in ALL_GIVEN:
        for form in forms_of(iban):
            assert form not in text, f"{form} in {where}"


def changed_tables(before: dict[str, int], after: dict[str, int]) -> set[str]:
    return {table for table, count in after.items() if before.get(table) != count}


def button(replies: list[dict[str, Any]], title: str) -> str:
    """The payload of the button with this title (what a click sends)."""
    for reply in replies:
        for offered in reply.get("buttons") or []:
            if offered["title"] == title:
                return offered["payload"]
    raise AssertionError(f"no button {title!r} in {replies}")


def mandates(url: str, number: str) -> list[SepaMandate]:
    with session_scope(url) as session:
        customer = session.scalar(select(Customer).where(Customer.customer_number == number))
        rows = list(
            session.scalars(
                select(SepaMandate)
                .where(SepaMandate.customer_id == customer.id)
                .order_by(SepaMandate.id)
            )
        )
        session.expunge_all()
        return rows


def payment_method(url: str, number: str) -> str:
    with session_scope(url) as session:
        return session.scalar(
            select(Customer.payment_method).where(Customer.customer_number == number)
        )


def audit_of(url: str, action: str, **detail: Any) -> list[AuditEntry]:
    with session_scope(url) as session:
        rows = list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))
        session.expunge_all()
    return [r for r in rows if all(r.detail.get(k) == v for k, v in detail.items())]


class Conversation:
    """A REST chat that keeps every reply, to check none holds a full IBAN."""

    def __init__(self, chat: Chat) -> None:
        self.chat = chat
        self.replies: list[dict[str, Any]] = []

    def say(self, text: str) -> list[dict[str, Any]]:
        replies = self.chat.say(text)
        self.replies += replies
        return replies

    def texts(self, text: str) -> str:
        return joined(self.say(text))

    def check_replies(self) -> None:
        assert_no_full_iban(json.dumps(self.replies, ensure_ascii=False), "a reply")
        assert self.chat.slot("bd_iban") is None  # the flow ended: the IBAN is gone


# --- REST, German: a new account ------------------------------------------------------------


def test_german_customer_gives_a_new_account_for_the_direct_debit(chat: Chat) -> None:
    url = chat.servers.database_url
    talk = Conversation(chat)
    before = mandates(url, NEUMANN["number"])
    [old] = [m for m in before if m.status == "active"]
    assert talk.texts("Ich möchte meine Zahlungsart ändern").count("Kundennummer") == 1
    replies = talk.say(NEUMANN["identity"])
    said = joined(replies)
    assert "Commerzbank" in said and "DE89 **** **** **** **30 00" in said
    replies = talk.say(button(replies, "Neue Bankverbindung"))
    assert "neue IBAN" in joined(replies) and "20 Ziffern" in joined(replies)

    # A wrong check digit: a clear answer, nothing stored.
    counts = row_counts(url)
    said = talk.texts(grouped(WRONG["socgen"]))
    assert "Die Prüfziffer stimmt nicht – bitte prüfen Sie die IBAN noch einmal" in said
    assert row_counts(url) == counts

    replies = talk.say(grouped(SOCGEN))
    said = joined(replies)
    assert "Societe Generale" in said and "DE75 **** **** **** **61 99" in said
    replies = talk.say(button(replies, "Claudia Neumann"))
    said = joined(replies)
    assert CREDITOR in said and "Stadtwerke Rheinruhr" in said and "acht Wochen" in said
    assert "Erteilen Sie dieses Mandat?" in said
    said = talk.texts("ja")
    assert "Erledigt" in said and "DE75 **** **** **** **61 99" in said
    reference = re.search(r"STW-\d{8}", said)
    assert reference is not None

    *_, revoked, new = mandates(url, NEUMANN["number"])
    assert (revoked.id, revoked.status, revoked.revoked_on) == (
        old.id,
        "revoked",
        chat.servers.settings.today(),
    )
    assert (new.mandate_reference, new.status, new.iban) == (reference[0], "active", SOCGEN)
    assert (new.bank_name, new.account_holder, new.creditor_id) == (
        "Societe Generale",
        "Claudia Neumann",
        CREDITOR,
    )
    assert (new.channel, new.conversation_id, new.signed_on) == (
        "rest",
        chat.sender,
        chat.servers.settings.today(),
    )
    assert payment_method(url, NEUMANN["number"]) == "direct_debit"
    [entry] = audit_of(url, bd.MANDATE_CREATED, sepa_mandate=new.id)
    assert entry.detail["revoked_mandate"] == old.id and entry.detail["channel"] == "rest"
    assert_no_full_iban(json.dumps(entry.detail), "the audit entry")
    talk.check_replies()

    # A second "ja" (double click, re-delivery) stores nothing more.
    talk.texts("ja")
    assert len(mandates(url, NEUMANN["number"])) == len(before) + 1


# --- REST, Turkish: a new account ----------------------------------------------------------


def test_turkish_customer_gives_a_new_account(chat_tr: Chat) -> None:
    url = chat_tr.servers.database_url
    talk = Conversation(chat_tr)
    assert "müşteri numaranız" in talk.texts("neue IBAN'ım var")
    # The wish is clear: straight to the IBAN.
    said = talk.texts(KAYA["identity"])
    assert "Yeni IBAN'ınız nedir?" in said
    said = talk.texts(f"yeni IBAN'ım {grouped(ING)}")
    assert "ING-DiBa" in said and "DE44 **** **** **** **49 31" in said
    said = talk.texts("Hatice Kaya")
    assert "Gläubiger-ID: DE98ZZZ09999999999" in said and "sekiz hafta" in said
    said = talk.texts("evet")
    assert "Tamamlandı" in said and "DE44 **** **** **** **49 31" in said

    *_, revoked, new = mandates(url, KAYA["number"])
    assert (revoked.mandate_reference, revoked.status) == ("STW-DEMO-0000028", "revoked")
    assert (new.status, new.iban, new.account_holder) == ("active", ING, "Hatice Kaya")
    assert new.mandate_reference in said
    assert payment_method(url, KAYA["number"]) == "direct_debit"
    assert len(audit_of(url, bd.MANDATE_CREATED, sepa_mandate=new.id)) == 1
    talk.check_replies()


# --- refusals ------------------------------------------------------------------------------


def test_wrong_ibans_store_nothing_and_the_second_offers_a_way_out(chat: Chat) -> None:
    url = chat.servers.database_url
    talk = Conversation(chat)
    talk.texts("Lastschrift einrichten")
    assert "neue IBAN" in talk.texts(BAECKER["identity"])
    counts = row_counts(url)
    said = talk.texts(WRONG["essen"])
    assert "Die Prüfziffer stimmt nicht" in said
    replies = talk.say(grouped(WRONG["essen"]).lower())
    said = joined(replies)
    assert "Die Prüfziffer stimmt nicht" in said and "noch einmal versuchen" in said
    said = talk.texts(button(replies, "Abbrechen, nichts ändern"))
    assert "nichts geändert" in said
    assert row_counts(url) == counts
    assert mandates(url, BAECKER["number"]) == []
    assert payment_method(url, BAECKER["number"]) == "transfer"
    talk.check_replies()


# --- paying by transfer --------------------------------------------------------------------


def test_german_customer_changes_to_paying_by_transfer(chat: Chat) -> None:
    url = chat.servers.database_url
    with session_scope(url) as session:  # Ursula Köhler pays by direct debit
        given = bd.give_mandate(
            session,
            customer_number=KOEHLER["number"],
            iban=GLS,
            holder="Ursula Köhler",
            creditor_id=CREDITOR,
            request_id=f"setup-{chat.sender}",
            channel="letter",
            conversation_id="setup",
            today=chat.servers.settings.today(),
        )
    talk = Conversation(chat)
    talk.texts("ich will nicht mehr abbuchen lassen, lieber überweisen")
    said = talk.texts(KOEHLER["identity"])
    assert "widerrufe ich Ihr SEPA-Lastschriftmandat" in said
    assert given.mandate.reference in said and "DE71 **** **** **** **57 00" in said
    said = talk.texts("ja bitte")
    assert "Lastschriftmandat ist widerrufen" in said
    assert OUR_IBAN in said and "Sparkasse Dortmund" in said and KOEHLER["number"] in said

    [mandate] = mandates(url, KOEHLER["number"])
    assert (mandate.status, mandate.revoked_on) == ("revoked", chat.servers.settings.today())
    assert payment_method(url, KOEHLER["number"]) == "transfer"
    [entry] = audit_of(url, bd.SWITCHED_TO_TRANSFER, revoked_mandate=mandate.id)
    assert entry.detail["channel"] == "rest"

    # Asked again: there is nothing left to revoke.
    counts = row_counts(url)
    said = talk.texts("Lastschrift kündigen")
    assert "Sie zahlen bereits per Überweisung" in said and OUR_IBAN in said
    assert row_counts(url) == counts
    talk.check_replies()


def test_turkish_customer_who_pays_by_transfer_already(chat_tr: Chat) -> None:
    url = chat_tr.servers.database_url
    talk = Conversation(chat_tr)
    talk.texts("artık havale ile ödemek istiyorum")
    counts = row_counts(url)
    said = talk.texts(KARAGOEZ["identity"])
    assert "zaten havale ile" in said and OUR_IBAN in said and KARAGOEZ["number"] in said
    assert changed_tables(counts, row_counts(url)) <= {"identity_guards"}  # the check's counter
    assert payment_method(url, KARAGOEZ["number"]) == "transfer"
    talk.check_replies()


# --- the phone: the IBAN keyed in ------------------------------------------------------------


def test_call_with_the_iban_keyed_in(servers: Servers) -> None:
    url = servers.database_url
    call = new_call(servers, caller="+4915100000923")  # every answer checked as Twilio reads it
    call.start()
    call.press("1")
    answer = call.say("Ich möchte eine Lastschrift einrichten")
    assert "Kundennummer" in answer.spoken
    call.press(f"{SCHUETZ}#")
    call.press("46045#")
    answer = call.press("21102002#")
    assert "20 Ziffern nach D E über die Telefontastatur" in answer.spoken
    spoken = [answer.spoken]
    # A German IBAN on the keypad: the 20 digits after DE.
    answer = call.press(WRONG["essen"][2:] + "#")
    assert "Die Prüfziffer stimmt nicht" in answer.spoken
    spoken.append(answer.spoken)
    answer = call.press(ESSEN[2:] + "#")
    spoken.append(answer.spoken)
    assert "Sparkasse Essen" in answer.spoken and "endet auf 5 6 7 0" in answer.spoken
    assert "die 1 für Lukas Schütz" in answer.spoken
    answer = call.press("1")
    spoken.append(answer.spoken)
    assert "Erteilen Sie das Mandat?" in answer.spoken and "acht Wochen" in answer.spoken
    answer = call.say("ja")
    spoken.append(answer.spoken)
    assert "Erledigt" in answer.spoken and "Sparkasse Essen" in answer.spoken
    assert_no_full_iban(" ".join(spoken), "what the caller heard")

    [mandate] = mandates(url, SCHUETZ)
    assert (mandate.status, mandate.iban, mandate.account_holder) == (
        "active",
        ESSEN,
        "Lukas Schütz",
    )
    assert (mandate.channel, mandate.conversation_id) == ("voice", call.call_sid)
    assert payment_method(url, SCHUETZ) == "direct_debit"
    assert call.hang_up().status_code == 204


# --- privacy: the agent's view and the logs ----------------------------------------------------


@pytest.mark.asyncio
async def test_an_agent_never_reads_the_full_iban(web: Servers) -> None:
    async with Widget(web.app_url, language="tr") as widget:
        await widget.texts("yeni IBAN")
        said = await widget.texts(SAHIN["identity"])
        assert "Yeni IBAN'ınız nedir?" in said
        said = await widget.texts(grouped(WRONG["gls"]))
        assert "kontrol rakamı tutmuyor" in said
        replies = await widget.say(WRONG["gls2"])
        person = next(b for r in replies for b in r.get("buttons") or [] if "çalışan" in b["title"])
        await widget.say(person["title"], payload=person["payload"])
        assert {"type": "state", "state": "waiting", "agent_name": None} in widget.frames
    with session_scope(web.database_url) as session:
        case = session.scalars(
            select(HandoffCase).where(HandoffCase.customer_number == SAHIN["number"])
        ).one()
        session.expunge(case)
    console = Console(web.app_url)
    assert console.login("aylin", "demo-aylin-2026").status_code == 303
    detail = console.get(f"/agent/api/cases/{case.case_id}").json()
    shown = json.dumps(detail["transcript"], ensure_ascii=False)
    assert "5701" in shown  # what the customer typed is there, masked
    assert_no_full_iban(shown, "the console's case")
    assert_no_full_iban(
        json.dumps(case.transcript, ensure_ascii=False), "the handed-over transcript"
    )


def test_no_full_iban_in_any_log(servers: Servers) -> None:
    # A conversation that gives a wrong IBAN and a right one, typed and keyed.
    talk = Conversation(Chat(servers))
    talk.texts("Lastschrift einrichten")
    talk.texts(FUSS["identity"])
    talk.texts(grouped(WRONG["gls"]))
    talk.texts(GLS.lower())
    talk.texts("/affirm")
    assert "Erledigt" in talk.texts("ja")
    call = new_call(servers, caller="+4915100000919")
    call.start()
    call.press("1")
    call.say("neue Bankverbindung")
    call.press(f"{FUSS['number']}#")
    call.press("47057#")
    call.press("13111944#")
    call.press(WRONG["gls2"][2:] + "#")
    call.hang_up()
    assert [m.iban for m in mandates(servers.database_url, FUSS["number"])] == [GLS]

    logs = {path.name: path.read_text(errors="replace") for path in servers.log_dir.glob("*.log")}
    # the actions log into rasa.log (or, on the action server, actions.log)
    assert "rasa.log" in logs and ("actions.log" in logs) == ("actions" in servers.processes)
    assert any("IBAN refused (checksum)" in text for text in logs.values())
    for name, text in logs.items():
        assert_no_full_iban(text, name)


def test_handoff_after_a_wrong_iban_keeps_the_transcript_masked(chat: Chat) -> None:
    talk = Conversation(chat)
    talk.texts("Kontowechsel")
    assert "IBAN" in talk.texts(NEUMANN["identity"])
    talk.texts(WRONG["socgen"])
    assert "noch einmal versuchen" in talk.texts(grouped(WRONG["socgen"]))
    talk.texts("Ich möchte mit einem Mitarbeiter sprechen")
    case = handoff_for(chat.servers.database_url, chat.sender)
    assert case is not None and case.customer_number == NEUMANN["number"]
    assert_no_full_iban(json.dumps(case.transcript), "the handed-over transcript")
    assert any("6198" in line["text"] for line in case.transcript)
    talk.check_replies()
