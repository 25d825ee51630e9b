"""The import file as a whole: customers and the utility's reference data, all or nothing.

A file has one or more sections: `customers` (the billing system's export,
bot/domain/services/customer_data.py), `tariffs` (the price sheet,
bot/domain/services/tariffs.py), `outages` (the grid operator's
known outages, bot/domain/services/faults.py), `knowledge_base` (answers
to general questions, bot/domain/services/knowledge.py) and
`appointment_slots` (free times for appointments,
bot/domain/services/appointments.py). Every section is validated
before anything is written, so a file with one bad record changes nothing;
importing the same file twice changes nothing either.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from bot.domain.errors import InvalidRecord
from bot.domain.services import appointments, customer_data, faults, knowledge, tariffs

SECTIONS = ("customers", "tariffs", "outages", "knowledge_base", "appointment_slots")


@dataclass
class ParsedFile:
    customers: list[dict[str, Any]] = field(default_factory=list)
    tariffs: list[dict[str, Any]] = field(default_factory=list)
    outages: list[dict[str, Any]] = field(default_factory=list)
    articles: list[dict[str, str]] = field(default_factory=list)
    slots: list[dict[str, Any]] = field(default_factory=list)


def parse_document(document: Any, zone: dt.tzinfo, topics: Iterable[str] = ()) -> ParsedFile:
    """Validate every section; raise `InvalidRecord` on the first error.

    Times without an offset are the utility's local time (`zone`); `topics`
    are the knowledge-base topics the model knows.
    """
    if not isinstance(document, dict) or not document:
        raise InvalidRecord(
            "file", "*", f"must be an object with one or more of {', '.join(SECTIONS)}"
        )
    unknown = sorted(set(document) - set(SECTIONS))
    if unknown:
        raise InvalidRecord("file", unknown[0], "is not part of the format")
    parsed = ParsedFile()
    if "customers" in document:
        parsed.customers = customer_data.parse_customers(document["customers"])
    if "tariffs" in document:
        parsed.tariffs = tariffs.parse_tariffs(document["tariffs"])
    if "outages" in document:
        parsed.outages = faults.parse_outages(document["outages"], zone)
    if "knowledge_base" in document:
        parsed.articles = knowledge.parse_knowledge_base(document["knowledge_base"], topics)
    if "appointment_slots" in document:
        parsed.slots = appointments.parse_slots(document["appointment_slots"], zone)
    return parsed


def import_document(
    session: Session, document: Any, zone: dt.tzinfo, topics: Iterable[str] = ()
) -> dict[str, dict[str, int]]:
    """Validate, then upsert every section; the counts of what changed, per section."""
    parsed = parse_document(document, zone, topics)
    counts: dict[str, dict[str, int]] = {}
    if "customers" in document:
        counts["customers"] = customer_data.write_customers(session, parsed.customers)
    if "tariffs" in document:
        counts["tariffs"] = tariffs.import_tariffs(session, parsed.tariffs)
    if "outages" in document:
        counts["outages"] = faults.import_outages(session, parsed.outages)
    if "knowledge_base" in document:
        counts["knowledge_base"] = knowledge.import_articles(session, parsed.articles)
    if "appointment_slots" in document:
        counts["appointment_slots"] = appointments.import_slots(session, parsed.slots)
    session.flush()
    return counts
