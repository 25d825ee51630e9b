"""Faults in the database: known outages (import, console edits, lookup), fault tickets,
gas-smell records; and the words customers answer the fault desk with."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.domain import i18n
from bot.domain.errors import InvalidRecord
from bot.domain.fault_answers import affected, callback_number, fault_commodity
from bot.domain.models import AuditEntry, KnownOutage, ServiceCase
from bot.domain.services import data_import, faults
from bot.infra.settings import ROOT
from connectors.voice.speech import clean_for_speech

BERLIN = ZoneInfo("Europe/Berlin")
NOW = dt.datetime(2026, 12, 6, 13, 0)  # UTC
OUTAGE = {
    "id": "NB-2026-0042",
    "postcode": "45127",
    "commodity": "electricity",
    "started_at": "2026-12-06T13:20:00",  # local time: 12:20 UTC
    "expected_end": "2026-12-06T18:30:00+01:00",
    "note": {"de": "Kabelschaden", "tr": "Kablo hasarı"},
}


def imported(session, *outages: dict) -> dict:
    return data_import.import_document(session, {"outages": list(outages)}, BERLIN)["outages"]


def test_import_reads_local_and_offset_times_and_is_idempotent(session):
    assert imported(session, OUTAGE) == {"outages": 1, "created": 1, "updated": 0}
    found = faults.current_outage(session, "45127", "electricity", NOW)
    assert found is not None and found.note("tr") == "Kablo hasarı"
    assert found.started_at == dt.datetime(2026, 12, 6, 12, 20)
    assert found.expected_end == dt.datetime(2026, 12, 6, 17, 30)
    assert imported(session, OUTAGE) == {"outages": 1, "created": 0, "updated": 0}
    later = {**OUTAGE, "expected_end": "2026-12-06T20:00:00"}
    assert imported(session, later) == {"outages": 1, "created": 0, "updated": 1}
    assert session.scalar(select(func.count()).select_from(KnownOutage)) == 1
    resolved = {**later, "resolved_at": "2026-12-06T19:00:00"}
    imported(session, resolved)
    assert faults.current_outage(session, "45127", "electricity", NOW) is None


def test_lookup_is_by_postcode_commodity_and_time(session):
    imported(session, OUTAGE)
    assert faults.current_outage(session, "45127", "water", NOW) is None
    assert faults.current_outage(session, "45128", "electricity", NOW) is None
    before = dt.datetime(2026, 12, 6, 12, 0)
    assert faults.current_outage(session, "45127", "electricity", before) is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"postcode": "4512"}, "postcode"),
        ({"commodity": "internet"}, "commodity"),
        ({"started_at": "gestern"}, "started_at"),
        ({"expected_end": "2026-12-06T10:00:00"}, "expected_end"),  # before the start
        ({"note": {"en": "x"}}, "note"),
        ({"colour": "red"}, "colour"),
        ({"id": ""}, "id"),
    ],
)
def test_a_bad_outage_record_imports_nothing(session, change, field):
    document = {"outages": [OUTAGE, {**OUTAGE, "id": "NB-2", **change}]}
    with pytest.raises(InvalidRecord) as error:
        data_import.import_document(session, document, BERLIN)
    assert f"'{field}'" in str(error.value)
    assert session.scalar(select(func.count()).select_from(KnownOutage)) == 0


def test_a_file_with_an_unknown_section_is_refused(session):
    with pytest.raises(InvalidRecord, match="'tariff'"):
        data_import.import_document(session, {"tariff": []}, BERLIN)
    with pytest.raises(InvalidRecord):
        data_import.import_document(session, {}, BERLIN)


def test_agents_add_change_and_resolve_outages_with_an_audit_trail(session):
    added = faults.save_outage(
        session,
        postcode="44137",
        commodity="water",
        started_at=NOW,
        note_de="Rohrbruch",
        agent_id=None,
    )
    changed = faults.save_outage(
        session,
        outage_id=added.id,
        postcode="44137",
        commodity="water",
        started_at=NOW,
        expected_end=NOW + dt.timedelta(hours=2),
    )
    assert changed.expected_end == NOW + dt.timedelta(hours=2)
    faults.resolve_outage(session, added.id, NOW + dt.timedelta(hours=1))
    assert faults.outages(session) == []
    assert len(faults.outages(session, include_resolved=True)) == 1
    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions[-3:] == ["outage_added", "outage_changed", "outage_resolved"]
    with pytest.raises(faults.InvalidOutage):
        faults.save_outage(session, postcode="x", commodity="water", started_at=NOW)


def test_a_ticket_is_stored_once_per_request(session):
    def ticket():
        return faults.open_ticket(
            session,
            commodity="gas",
            postcode="44137",
            address="Kampstraße 12",
            description="kein Gas am Herd",
            callback_number="0231 1234567",
            checks={"scope": "area"},
            language="de",
            channel="web",
            conversation_id="web-" + "a" * 24,
            request_id="fault-1",
        )

    first, second = ticket(), ticket()
    assert first.created and not second.created and first.reference == second.reference
    case = session.scalars(select(ServiceCase)).one()
    assert case.kind == "fault" and case.priority  # no gas is urgent
    assert case.data["callback_within_hours"] == 1


def test_gas_smell_record_is_a_priority_case(session):
    opened = faults.record_gas_smell(
        session,
        description="riecht nach Gas",
        language="tr",
        channel="voice",
        conversation_id="CA" + "1" * 32,
        request_id="gas-1",
        customer_number="10000001",
    )
    case = session.get(ServiceCase, opened.id)
    assert case.priority and case.customer.customer_number == "10000001"
    assert case.data == {
        "hazard": "gas_smell",
        "commodity": "gas",
        "description": "riecht nach Gas",
    }
    assert opened.reference.startswith("SM-")


@pytest.mark.parametrize(
    ("text", "commodity"),
    [
        ("kein Strom", "electricity"),
        ("bei uns ist alles dunkel", "electricity"),
        ("Heizung kalt", "district_heating"),
        ("kalorifer soğuk", "district_heating"),
        ("Straßenlaterne kaputt", "street_light"),
        ("sokak lambası yanmıyor", "street_light"),
        ("su yok", "water"),
        ("Gas", "gas"),
        ("keine Ahnung", None),
    ],
)
def test_what_failed(text, commodity):
    assert fault_commodity(text) == commodity


@pytest.mark.parametrize(
    ("text", "scope"),
    [
        ("Nur bei mir", "home"),
        ("sadece bende", "home"),
        ("die ganze Straße ist dunkel", "area"),
        ("Nachbarn auch", "area"),
        ("komşularda da", "area"),
        ("weiß ich nicht", "unknown"),
        ("bilmiyorum", "unknown"),
        ("hm", None),
    ],
)
def test_who_is_affected(text, scope):
    assert affected(text) == scope


@pytest.mark.parametrize(
    ("text", "number"),
    [("0231 1234567", "0231 1234567"), ("+49 171 1234567", "+49 171 1234567"), ("12", None)],
)
def test_callback_number(text, number):
    assert callback_number(text) == number


def test_the_end_of_an_outage_as_people_say_it_and_as_the_phone_speaks_it():
    today = dt.date(2026, 12, 6)
    evening, morning = dt.datetime(2026, 12, 6, 18, 30), dt.datetime(2026, 12, 7, 6, 0)
    assert i18n.moment(evening, today, "de") == "heute um 18:30 Uhr"
    assert i18n.moment(morning, today, "de") == "morgen um 6:00 Uhr"
    assert (
        i18n.moment(dt.datetime(2026, 12, 8, 10, 0), today, "de") == "am 8. Dezember um 10:00 Uhr"
    )
    assert i18n.moment(evening, today, "tr") == "bugün saat 18:30"
    assert i18n.moment(morning, today, "tr") == "yarın saat 06:00"
    assert clean_for_speech("heute um 18:30 Uhr behoben", "de") == "heute um 18 Uhr 30 behoben"
    assert clean_for_speech("morgen um 6:00 Uhr", "de") == "morgen um 6 Uhr"
    assert clean_for_speech("yarın saat 06:00 civarında", "tr") == "yarın saat 6 civarında"


def test_import_data_command_loads_outages(tmp_path, database_url):
    path = tmp_path / "outages.json"
    path.write_text(json.dumps({"outages": [OUTAGE]}), encoding="utf-8")
    command = [sys.executable, "-m", "bot", "import-data", str(path)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr
    assert "imported 1 known outages (1 new, 0 updated)" in result.stdout
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"outages": [{**OUTAGE, "postcode": 45127}]}), encoding="utf-8")
    result = subprocess.run([*command[:-1], str(bad)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 1 and "nothing imported" in result.stderr
