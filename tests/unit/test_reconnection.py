"""Reconnection after a supply block: the account check, the priority case, receipts, file checks.

Demo customers (data/demo/customers.json): Sabine Wagner (10000027) is
blocked since 25.11.2026 with 130.00 € overdue, Kemal Arslan (10000026) has a
block only announced, Ayşe Yılmaz (10000001) has none.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bot.domain import uploads
from bot.domain.errors import NotFound
from bot.domain.models import AuditEntry, CaseAttachment, Contract, ServiceCase, SupplyBlock
from bot.domain.services import agents, reconnection
from bot.domain.uploads import JPEG, PDF, PNG
from bot.protocol import PERSON_PAYLOAD, BotReply, Expects
from connectors.voice import call_flow, twiml

SABINE, KEMAL, AYSE = "10000027", "10000026", "10000001"
PNG_FILE = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00\x00\x00\x10" * 4 + b"\x00" * 40
JPEG_FILE = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + b"\x00" * 60 + b"\xff\xd9"
PDF_FILE = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n"


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def open_for(session, customer=SABINE, request="req-1", conversation="conv-1", channel="web"):
    return reconnection.open_case(
        session,
        customer_number=customer,
        language="de",
        channel=channel,
        conversation_id=conversation,
        request_id=request,
    )


# --- what a file is -------------------------------------------------------------------------


@pytest.mark.parametrize(("content", "kind"), [(PNG_FILE, PNG), (JPEG_FILE, JPEG), (PDF_FILE, PDF)])
def test_images_and_pdfs_are_known_by_their_first_bytes(content, kind):
    assert uploads.sniff(content) is kind
    assert uploads.check(content, 1000) is kind


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"%PDF-",  # too short to be anything
        b"GIF89a" + b"\x00" * 60,
        b"<html><script>alert(1)</script></html>" + b" " * 40,
        b"MZ\x90\x00" + b"\x00" * 60,  # a Windows program
        b"PK\x03\x04" + b"\x00" * 60,  # a ZIP (also .docx)
        b"%PDF-x.y not a version" + b" " * 40,
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 60,  # the signature without its header chunk
        b" %PDF-1.4" + b" " * 40,  # not at the start
    ],
)
def test_anything_else_is_refused_whatever_it_is_called(content):
    assert uploads.sniff(content) is None
    with pytest.raises(uploads.UnsupportedFile):
        uploads.check(content, 10_000)


def test_a_file_over_the_limit_is_refused_before_its_type_is_looked_at():
    with pytest.raises(uploads.FileTooLarge):
        uploads.check(PNG_FILE, len(PNG_FILE) - 1)
    assert uploads.check(PNG_FILE, len(PNG_FILE)) is PNG


@pytest.mark.parametrize(
    ("name", "kind", "safe"),
    [
        ("Überweisung 12.11.pdf", PDF, "Überweisung 12.11.pdf"),
        ("../../etc/passwd", PDF, "passwd.pdf"),
        ("C:\\Users\\kemal\\Desktop\\dekont.png", PNG, "dekont.png"),
        ("foto.JPEG", JPEG, "foto.jpg"),
        ("beleg.pdf.exe", PDF, "beleg.pdf.exe.pdf"),  # the real type decides the extension
        ("rechnung.png", PDF, "rechnung.png.pdf"),
        (".htaccess", PNG, "htaccess.png"),
        ('a"b<c>\r\nSet-Cookie: x.pdf', PDF, "a b c Set-Cookie x.pdf"),
        ("\u202egpj.exe", JPEG, "gpj.exe.jpg"),  # no right-to-left override
        ("", PDF, "zahlungsnachweis.pdf"),
        (None, PNG, "zahlungsnachweis.png"),
        ("x" * 300 + ".pdf", PDF, "x" * 76 + ".pdf"),
    ],
)
def test_file_names_are_cleaned_and_end_in_the_real_type(name, kind, safe):
    assert uploads.safe_filename(name, kind) == safe


def test_the_size_limit_reads_as_megabytes():
    assert uploads.size_label(5 * 1024 * 1024, "de") == "5 MB"
    assert uploads.size_label(2_621_440, "tr") == "2,5 MB"


# --- when the supply can be back ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("confirmed", "days", "back"),
    [
        (dt.date(2026, 11, 23), 1, dt.date(2026, 11, 24)),  # Monday → Tuesday
        (dt.date(2026, 11, 27), 1, dt.date(2026, 11, 30)),  # Friday → Monday
        (dt.date(2026, 11, 28), 1, dt.date(2026, 12, 1)),  # Saturday counts from Monday
        (dt.date(2026, 11, 29), 0, dt.date(2026, 11, 30)),  # Sunday, same day → Monday
        (dt.date(2026, 11, 25), 3, dt.date(2026, 11, 30)),  # Wednesday + 3 → Monday
        (dt.date(2026, 11, 24), 0, dt.date(2026, 11, 24)),
    ],
)
def test_reconnection_is_working_days_after_the_confirmation(confirmed, days, back):
    assert reconnection.possible_on(confirmed, days) == back


# --- the account -----------------------------------------------------------------------------


def test_the_situation_tells_blocks_in_force_from_announced_ones(session):
    sabine = reconnection.situation(session, SABINE)
    assert [b.contract_number for b in sabine.blocked] == ["30000041"]
    assert sabine.blocked[0].blocked_on == dt.date(2026, 11, 25)
    assert sabine.open_balance == Decimal("130.00") and sabine.balance_open

    kemal = reconnection.situation(session, KEMAL)
    assert kemal.blocked == [] and [b.contract_number for b in kemal.announced] == ["30000040"]
    assert kemal.open_balance == Decimal("340.40")

    ayse = reconnection.situation(session, AYSE)
    assert ayse.blocked == [] and ayse.announced == []
    with pytest.raises(NotFound):
        reconnection.situation(session, "99999999")


def test_a_priority_case_is_opened_once_per_request_with_an_audit_entry(session):
    case = open_for(session)
    assert case.created and case.reference.startswith("EN-") and len(case.reference) == 11
    assert case.contracts == ["30000041"] and case.open_balance == Decimal("130.00")
    stored = session.get(ServiceCase, case.id)
    assert (stored.kind, stored.status, stored.priority, stored.channel) == (
        "reconnection",
        "open",
        True,
        "web",
    )
    assert stored.customer.customer_number == SABINE
    assert stored.data == {
        "contracts": [
            {"contract_number": "30000041", "commodity": "electricity", "blocked_on": "2026-11-25"}
        ],
        "open_balance": "130.00",
        "receipt_received": False,
        "receipts": 0,
        "channel": "web",
    }
    [audit] = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "reconnection_requested")
    ).all()
    assert audit.agent_id is None
    assert audit.detail == {"service_case": case.id, "channel": "web", "priority": True}
    assert SABINE not in str(audit.detail)

    again = open_for(session)  # the same request delivered again
    assert not again.created and again.reference == case.reference
    assert count(session, ServiceCase) == 1
    assert count(session, AuditEntry) == 1

    other = open_for(session, request="req-2")  # a new request is a new case
    assert other.created and other.reference != case.reference


@pytest.mark.parametrize("customer", [AYSE, KEMAL])
def test_no_block_in_force_stores_nothing(session, customer):
    with pytest.raises(reconnection.NotBlocked):
        open_for(session, customer=customer)
    assert count(session, ServiceCase) == 0 and count(session, AuditEntry) == 0


def test_a_lifted_block_is_no_block(session):
    contract = session.scalar(select(Contract).where(Contract.contract_number == "30000041"))
    block = session.scalar(select(SupplyBlock).where(SupplyBlock.contract_id == contract.id))
    block.status, block.lifted_on = "lifted", dt.date(2026, 11, 30)
    session.flush()
    with pytest.raises(reconnection.NotBlocked):
        open_for(session)


def test_the_handoff_case_is_linked(session):
    case = open_for(session)
    reconnection.link_handoff(session, "req-1", "H-0000ABCD")
    assert session.get(ServiceCase, case.id).handoff_case_id == "H-0000ABCD"
    with pytest.raises(NotFound):
        reconnection.link_handoff(session, "no-such-request", "H-0000ABCD")


# --- receipts --------------------------------------------------------------------------------


def attach(session, content=PNG_FILE, kind=PNG, conversation="conv-1", name="beleg.png"):
    return reconnection.attach_receipt(
        session, conversation_id=conversation, filename=name, kind=kind, content=content
    )


def test_a_receipt_is_stored_with_the_open_case_and_its_digest(session):
    case = open_for(session)
    reconnection.link_handoff(session, "req-1", "H-0000ABCD")
    stored = attach(session)
    assert stored.created and stored.reference == case.reference and stored.count == 1
    assert stored.sha256 == hashlib.sha256(PNG_FILE).hexdigest()
    [row] = session.scalars(select(CaseAttachment)).all()
    assert (row.case_id, row.filename, row.content_type, row.size, row.content) == (
        case.id,
        "beleg.png",
        "image/png",
        len(PNG_FILE),
        PNG_FILE,
    )
    data = session.get(ServiceCase, case.id).data
    assert data["receipt_received"] is True and data["receipts"] == 1
    [audit] = session.scalars(select(AuditEntry).where(AuditEntry.action == "receipt_uploaded"))
    assert audit.case_id == "H-0000ABCD"
    assert audit.detail == {
        "service_case": case.id,
        "attachment": row.id,
        "content_type": "image/png",
        "size": len(PNG_FILE),
        "channel": "web",
    }


def test_the_same_file_twice_is_stored_once(session):
    open_for(session)
    first = attach(session)
    again = attach(session, name="noch-mal.png")
    assert not again.created and again.attachment_id == first.attachment_id
    assert count(session, CaseAttachment) == 1


def test_a_case_takes_a_few_receipts_and_no_more(session):
    open_for(session)
    attach(session, PNG_FILE, PNG)
    attach(session, JPEG_FILE, JPEG)
    third = attach(session, PDF_FILE, PDF)
    assert third.count == reconnection.MAX_RECEIPTS and not third.more_allowed
    with pytest.raises(reconnection.TooManyReceipts):
        attach(session, PDF_FILE + b"\n%%EOF\n", PDF)
    assert count(session, CaseAttachment) == reconnection.MAX_RECEIPTS


def test_a_receipt_needs_an_open_case_of_that_conversation(session):
    with pytest.raises(reconnection.NoOpenCase):
        attach(session)
    open_for(session, conversation="someone-else")
    with pytest.raises(reconnection.NoOpenCase):
        attach(session, conversation="conv-1")
    closed = open_for(session, request="req-2")
    session.get(ServiceCase, closed.id).status = "closed"
    session.flush()
    with pytest.raises(reconnection.NoOpenCase):
        attach(session)
    assert count(session, CaseAttachment) == 0


def test_agents_download_only_the_files_of_the_case_they_name(session):
    open_for(session)
    reconnection.link_handoff(session, "req-1", "H-0000ABCD")
    stored = attach(session)
    open_for(session, request="req-2", conversation="conv-2")
    reconnection.link_handoff(session, "req-2", "H-0000EEEE")

    agent = agents.create_agent(
        session, username="aylin", first_name="Aylin", last_name="Kaya", password="x" * 16
    )
    [info] = reconnection.attachments_of(session, "H-0000ABCD")
    assert (info.id, info.filename, info.content_type) == (
        stored.attachment_id,
        "beleg.png",
        "image/png",
    )
    assert reconnection.attachments_of(session, "H-0000EEEE") == []
    downloaded, content = reconnection.download(session, "H-0000ABCD", info.id, agent.id)
    assert content == PNG_FILE and downloaded == info
    [audit] = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "attachment_downloaded")
    )
    assert (audit.agent_id, audit.case_id) == (agent.id, "H-0000ABCD")
    with pytest.raises(NotFound):
        reconnection.download(session, "H-0000EEEE", info.id, agent.id)
    with pytest.raises(NotFound):
        reconnection.download(session, "H-0000ABCD", info.id + 100, agent.id)


# --- the `file` hint in the channels --------------------------------------------------------------


def test_the_file_hint_is_part_of_the_protocol_and_the_phone_ignores_it():
    assert Expects.parse({"kind": "file"}) == Expects("file")
    with pytest.raises(ValueError):
        Expects("file", 3)  # only digits have a length
    reply = BotReply.from_rasa([{"text": "Beleg?", "metadata": {"expects": {"kind": "file"}}}])
    assert reply.expects == Expects("file")
    assert BotReply.from_json(reply.to_json()).expects == Expects("file")
    # the phone: the hotline's usual speech hints, keypad digits taken as they are
    for language in ("de", "tr"):
        assert twiml.hints_for(language, Expects("file")) == twiml.hints_for(language, None)
    call = call_flow.CallState("CA" + "0" * 32, language="de", expects=Expects("file"))
    assert call_flow.keypad_text("12345", call) == "12345"
    assert call_flow.keypad_text("0", call) == PERSON_PAYLOAD
