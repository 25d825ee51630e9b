"""Supply faults: gas-smell reports, known outages by postcode and commodity, fault tickets.

A gas smell is recorded as a priority `fault` case the moment the customer
is told what to do (the emergency answer does not wait for it). Other
faults: the customer's postcode and commodity are looked up among the
known outages (`current_outage`); a known one is explained with its
expected end, an unknown one becomes a fault ticket (`open_ticket`) with
the address, what the quick checks found, the customer's description and a
number to call back. Known outages come from the grid operator
(`import-data`) or from agents in the console (`save_outage`,
`resolve_outage`), each change audited.

Times are stored in UTC without a zone (like every table here) and read and
written in the utility's local time by the callers.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.errors import DomainError, InvalidRecord, NotFound
from bot.domain.models import AuditEntry, Customer, KnownOutage
from bot.domain.records import section_records
from bot.domain.services.service_cases import Opened, open_once

KIND = "fault"
UTC = dt.timezone.utc
#: what a fault can concern: the four supplies, and a street light
COMMODITIES = ("electricity", "gas", "water", "district_heating", "street_light")
POSTCODE = re.compile(r"\d{5}")
MAX_NOTE = 300
MAX_DESCRIPTION = 1000
#: how long after a ticket the fault desk calls back, at the latest
CALLBACK_HOURS = {"electricity": 2, "gas": 1, "water": 2, "district_heating": 4, "street_light": 72}


class InvalidOutage(DomainError):
    """A known outage with a wrong field (the message says which)."""


@dataclass(frozen=True)
class OutageView:
    """A known outage as customers and agents see it (times in UTC, no zone)."""

    id: int
    postcode: str
    commodity: str
    started_at: dt.datetime
    expected_end: dt.datetime | None
    resolved_at: dt.datetime | None
    note_de: str
    note_tr: str
    source: str

    def note(self, language: str) -> str:
        return (self.note_tr if language == "tr" else self.note_de) or self.note_de


def _view(outage: KnownOutage) -> OutageView:
    return OutageView(
        outage.id,
        outage.postcode,
        outage.commodity,
        outage.started_at,
        outage.expected_end,
        outage.resolved_at,
        outage.note_de or "",
        outage.note_tr or "",
        outage.source,
    )


def current_outage(
    session: Session, postcode: str, commodity: str, now: dt.datetime
) -> OutageView | None:
    """The known, unresolved outage of `commodity` at `postcode` at `now` (UTC), if any.

    Of several, the one that started last (its expected end is the newest news).
    """
    found = session.scalars(
        select(KnownOutage)
        .where(
            KnownOutage.postcode == postcode,
            KnownOutage.commodity == commodity,
            KnownOutage.resolved_at.is_(None),
            KnownOutage.started_at <= now,
        )
        .order_by(KnownOutage.started_at.desc())
        .limit(1)
    ).first()
    return _view(found) if found is not None else None


def outages(session: Session, *, include_resolved: bool = False) -> list[OutageView]:
    """Known outages for the console, newest first (unresolved only unless asked)."""
    query = select(KnownOutage).order_by(KnownOutage.started_at.desc())
    if not include_resolved:
        query = query.where(KnownOutage.resolved_at.is_(None))
    return [_view(outage) for outage in session.scalars(query)]


def _checked(
    postcode: str,
    commodity: str,
    started_at: dt.datetime,
    expected_end: dt.datetime | None,
    note_de: str,
    note_tr: str,
) -> tuple[str, str, str, str]:
    postcode = (postcode or "").strip()
    if not POSTCODE.fullmatch(postcode):
        raise InvalidOutage("postcode: five digits")
    if commodity not in COMMODITIES:
        raise InvalidOutage(f"commodity: one of {', '.join(COMMODITIES)}")
    if expected_end is not None and expected_end <= started_at:
        raise InvalidOutage("expected_end: after started_at")
    note_de, note_tr = " ".join((note_de or "").split()), " ".join((note_tr or "").split())
    if len(note_de) > MAX_NOTE or len(note_tr) > MAX_NOTE:
        raise InvalidOutage(f"note: at most {MAX_NOTE} characters")
    return postcode, commodity, note_de, note_tr


def save_outage(
    session: Session,
    *,
    postcode: str,
    commodity: str,
    started_at: dt.datetime,
    expected_end: dt.datetime | None = None,
    note_de: str = "",
    note_tr: str = "",
    outage_id: int | None = None,
    external_id: str | None = None,
    agent_id: int | None = None,
) -> OutageView:
    """Add a known outage, or change one (by id, or by the import's external id); audited."""
    postcode, commodity, note_de, note_tr = _checked(
        postcode, commodity, started_at, expected_end, note_de, note_tr
    )
    outage: KnownOutage | None = None
    if outage_id is not None:
        outage = session.get(KnownOutage, outage_id)
        if outage is None:
            raise NotFound(str(outage_id))
    elif external_id:
        outage = session.scalar(select(KnownOutage).where(KnownOutage.external_id == external_id))
    created = outage is None
    if outage is None:
        outage = KnownOutage(external_id=external_id or None)
        session.add(outage)
    outage.postcode, outage.commodity = postcode, commodity
    outage.started_at, outage.expected_end = started_at, expected_end
    outage.note_de, outage.note_tr = note_de, note_tr
    outage.source = "agent" if agent_id is not None else "import"
    outage.updated_by = agent_id
    session.flush()
    session.add(
        AuditEntry(
            agent_id=agent_id,
            action="outage_added" if created else "outage_changed",
            case_id=None,
            detail={"outage": outage.id, "postcode": postcode, "commodity": commodity},
        )
    )
    session.flush()
    return _view(outage)


def resolve_outage(
    session: Session, outage_id: int, now: dt.datetime, agent_id: int | None = None
) -> OutageView:
    """Mark an outage as over (customers are no longer told of it); audited."""
    outage = session.get(KnownOutage, outage_id)
    if outage is None:
        raise NotFound(str(outage_id))
    if outage.resolved_at is None:
        outage.resolved_at = now
        outage.updated_by = agent_id
        session.add(
            AuditEntry(
                agent_id=agent_id,
                action="outage_resolved",
                case_id=None,
                detail={"outage": outage.id},
            )
        )
        session.flush()
    return _view(outage)


def record_gas_smell(
    session: Session,
    *,
    description: str,
    language: str,
    channel: str,
    conversation_id: str,
    request_id: str,
    customer_number: str | None = None,
) -> Opened:
    """The priority fault case of a gas-smell report (once per request id)."""
    return open_once(
        session,
        kind=KIND,
        request_id=request_id,
        data={
            "hazard": "gas_smell",
            "commodity": "gas",
            "description": description[:MAX_DESCRIPTION],
        },
        language=language,
        channel=channel,
        conversation_id=conversation_id,
        audit_action="gas_smell_reported",
        customer_id=_customer_id(session, customer_number),
        priority=True,
    )


def open_ticket(
    session: Session,
    *,
    commodity: str,
    postcode: str,
    address: str,
    description: str,
    callback_number: str | None,
    checks: dict[str, Any],
    language: str,
    channel: str,
    conversation_id: str,
    request_id: str,
    customer_number: str | None = None,
) -> Opened:
    """A fault ticket for the fault desk (once per request id); no gas smell (that is
    `record_gas_smell`)."""
    if commodity not in COMMODITIES:
        raise InvalidOutage(f"commodity: one of {', '.join(COMMODITIES)}")
    return open_once(
        session,
        kind=KIND,
        request_id=request_id,
        data={
            "commodity": commodity,
            "postcode": postcode,
            "address": address[:200],
            "description": description[:MAX_DESCRIPTION],
            "callback_number": callback_number,
            "checks": checks,
            "callback_within_hours": CALLBACK_HOURS[commodity],
        },
        language=language,
        channel=channel,
        conversation_id=conversation_id,
        audit_action="fault_reported",
        customer_id=_customer_id(session, customer_number),
        priority=commodity == "gas",
    )


def _customer_id(session: Session, customer_number: str | None) -> int | None:
    if not customer_number:
        return None
    return session.scalar(select(Customer.id).where(Customer.customer_number == customer_number))


# --- import (the grid operator's list of known outages) --------------------------------

_OUTAGE_FIELDS = {
    "id": True,
    "postcode": True,
    "commodity": True,
    "started_at": True,
    "expected_end": False,
    "resolved_at": False,
    "note": False,
}


def _moment(record: str, field: str, raw: Any, zone: dt.tzinfo) -> dt.datetime:
    """An ISO 8601 time (without an offset: the utility's local time) as UTC without zone."""
    try:
        if not isinstance(raw, str):
            raise ValueError
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidRecord(record, field, "must be an ISO 8601 date and time") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC).replace(tzinfo=None)


def parse_outages(raw: Any, zone: dt.tzinfo) -> list[dict[str, Any]]:
    """Validate the `outages` section of an import file (raise InvalidRecord on the first error)."""
    parsed: list[dict[str, Any]] = []
    seen: set[str] = set()
    for record, item in section_records(raw, "outages", _OUTAGE_FIELDS):
        external = item["id"]
        if not isinstance(external, str) or not 0 < len(external.strip()) <= 40:
            raise InvalidRecord(record, "id", "must be a string of 1 to 40 characters")
        if external in seen:
            raise InvalidRecord("file", "id", f"{external} appears more than once")
        seen.add(external)
        note = item.get("note") or {}
        if not isinstance(note, dict) or set(note) - {"de", "tr"}:
            raise InvalidRecord(record, "note", "must be an object with the texts de and tr")
        if any(not isinstance(text, str) for text in note.values()):
            raise InvalidRecord(record, "note", "texts must be strings")
        started = _moment(record, "started_at", item["started_at"], zone)
        end = item.get("expected_end")
        resolved = item.get("resolved_at")
        values = {
            "external_id": external.strip(),
            "postcode": item["postcode"],
            "commodity": item["commodity"],
            "started_at": started,
            "expected_end": _moment(record, "expected_end", end, zone) if end else None,
            "resolved_at": _moment(record, "resolved_at", resolved, zone) if resolved else None,
            "note_de": note.get("de", ""),
            "note_tr": note.get("tr", ""),
        }
        try:
            _checked(
                values["postcode"] if isinstance(values["postcode"], str) else "",
                values["commodity"],
                started,
                values["expected_end"],
                values["note_de"],
                values["note_tr"],
            )
        except InvalidOutage as problem:
            field, _, why = str(problem).partition(": ")
            raise InvalidRecord(record, field, why) from None
        parsed.append(values)
    return parsed


def import_outages(session: Session, outages: list[dict[str, Any]]) -> dict[str, int]:
    """Upsert parsed outages by their id; an unchanged record changes nothing."""
    counts = {"outages": 0, "created": 0, "updated": 0}
    for values in outages:
        existing = session.scalar(
            select(KnownOutage).where(KnownOutage.external_id == values["external_id"])
        )
        counts["outages"] += 1
        if existing is not None and _same(existing, values):
            continue
        counts["created" if existing is None else "updated"] += 1
        resolved = values.pop("resolved_at")
        saved = save_outage(session, **{k: v for k, v in values.items()})
        outage = session.get(KnownOutage, saved.id)
        if outage is not None and outage.resolved_at != resolved:
            outage.resolved_at = resolved
            session.flush()
    return counts


def _same(outage: KnownOutage, values: dict[str, Any]) -> bool:
    names = ("postcode", "commodity", "started_at", "expected_end", "resolved_at")
    return all(getattr(outage, name) == values[name] for name in names) and (
        (outage.note_de or "", outage.note_tr or "") == (values["note_de"], values["note_tr"])
    )
