"""The console's back-office pages: service cases by type, and the known outages.

`/agent/cases` lists what the assistant recorded for the back office (fault
tickets, complaints, appointments, moves, payment cases, tariff switches)
with a filter by type; a case shows its structured data (what an agent acts
on), links to its conversation's handoff case, and is closed when done.
`/agent/outages` is the table of known outages the bot tells customers
about: agents add one, change its expected end or note, and mark it resolved.
Times are shown and entered in the utility's local time.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, validator

from bot.domain.errors import NotFound
from bot.domain.services import faults, service_cases
from bot.web.console import ChangingAgent, LoggedInAgent, agent_page, web_of

logger = logging.getLogger(__name__)
router = APIRouter()
UTC = dt.timezone.utc


class CaseCloseBody(BaseModel):
    """An optional note on how the case was dealt with."""

    note: str = ""

    @validator("note")
    def _short(cls, value: str) -> str:  # noqa: N805
        value = " ".join(value.split())
        if len(value) > 500:
            raise ValueError("at most 500 characters")
        return value


class OutageBody(BaseModel):
    """A known outage as agents enter it (local times, `2026-12-06T18:30`)."""

    postcode: str
    commodity: str
    started_at: str | None = None
    expected_end: str | None = None
    note_de: str = ""
    note_tr: str = ""


@router.get("/agent/cases", response_class=HTMLResponse, include_in_schema=False)
async def cases_page(request: Request) -> Response:
    return await agent_page(request, "agent/cases.html")


@router.get("/agent/outages", response_class=HTMLResponse, include_in_schema=False)
async def outages_page(request: Request) -> Response:
    return await agent_page(request, "agent/outages.html")


# --- service cases ----------------------------------------------------------------------


@router.get("/agent/api/service-cases")
async def list_cases(
    request: Request, console: LoggedInAgent, type: str | None = None, status: str = "open"
) -> list[dict[str, Any]]:
    if type is not None and type not in service_cases.TYPES:
        raise HTTPException(status_code=422, detail="Unbekannte Vorgangsart.")
    if status not in (*service_cases.STATUSES, "all"):
        raise HTTPException(status_code=422, detail="Unbekannter Status.")
    chosen = None if status == "all" else status
    found = await web_of(request).db(
        lambda s: service_cases.list_cases(s, case_type=type, status=chosen)
    )
    return [case.as_json() for case in found]


@router.get("/agent/api/service-cases/{reference}")
async def case_detail(reference: str, request: Request, console: LoggedInAgent) -> dict[str, Any]:
    try:
        found = await web_of(request).db(lambda s: service_cases.case_detail(s, reference))
    except NotFound:
        raise HTTPException(status_code=404, detail="Diesen Vorgang gibt es nicht.") from None
    return found.as_json()


@router.post("/agent/api/service-cases/{reference}/close")
async def close_case(
    reference: str, request: Request, body: CaseCloseBody, console: ChangingAgent
) -> dict[str, Any]:
    agent_id = console.agent.id
    try:
        found = await web_of(request).db(
            lambda s: service_cases.close_case(s, reference, agent_id, body.note)
        )
    except NotFound:
        raise HTTPException(status_code=404, detail="Diesen Vorgang gibt es nicht.") from None
    logger.info("service case closed reference=%s agent=%s", reference, agent_id)
    return found.as_json()


# --- known outages ----------------------------------------------------------------------


def _local(value: dt.datetime | None, zone: dt.tzinfo) -> str | None:
    """UTC (no zone) → local time as `2026-12-06T18:30` (what a datetime-local field takes)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC).astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def _utc(raw: str | None, zone: dt.tzinfo, field: str) -> dt.datetime | None:
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise HTTPException(status_code=422, detail=f"{field}: Datum und Uhrzeit, bitte.") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC).replace(tzinfo=None)


def _outage_json(outage: faults.OutageView, zone: dt.tzinfo) -> dict[str, Any]:
    return {
        "id": outage.id,
        "postcode": outage.postcode,
        "commodity": outage.commodity,
        "started_at": _local(outage.started_at, zone),
        "expected_end": _local(outage.expected_end, zone),
        "resolved_at": _local(outage.resolved_at, zone),
        "note_de": outage.note_de,
        "note_tr": outage.note_tr,
        "source": outage.source,
    }


@router.get("/agent/api/outages")
async def list_outages(
    request: Request, console: LoggedInAgent, resolved: bool = False
) -> list[dict[str, Any]]:
    web = web_of(request)
    zone = web.settings.now().tzinfo
    found = await web.db(lambda s: faults.outages(s, include_resolved=resolved))
    return [_outage_json(outage, zone) for outage in found]


async def _save(
    request: Request, body: OutageBody, agent_id: int, outage_id: int | None = None
) -> dict[str, Any]:
    web = web_of(request)
    now = web.settings.now()
    zone = now.tzinfo
    started = _utc(body.started_at, zone, "Beginn") or now.astimezone(UTC).replace(tzinfo=None)
    values = {
        "postcode": body.postcode.strip(),
        "commodity": body.commodity,
        "started_at": started.replace(second=0, microsecond=0),
        "expected_end": _utc(body.expected_end, zone, "Voraussichtliches Ende"),
        "note_de": body.note_de,
        "note_tr": body.note_tr,
    }
    try:
        saved = await web.db(
            lambda s: faults.save_outage(s, outage_id=outage_id, agent_id=agent_id, **values)
        )
    except faults.InvalidOutage as problem:
        raise HTTPException(status_code=422, detail=_readable(str(problem))) from None
    except NotFound:
        raise HTTPException(status_code=404, detail="Diese Störung gibt es nicht.") from None
    logger.info("known outage saved id=%s agent=%s", saved.id, agent_id)
    return _outage_json(saved, zone)


def _readable(problem: str) -> str:
    field = problem.partition(":")[0]
    return {
        "postcode": "Bitte eine fünfstellige Postleitzahl.",
        "commodity": "Bitte eine Sparte wählen.",
        "expected_end": "Das voraussichtliche Ende muss nach dem Beginn liegen.",
        "note": f"Hinweise höchstens {faults.MAX_NOTE} Zeichen.",
    }.get(field, "Die Eingabe wurde nicht angenommen.")


@router.post("/agent/api/outages", status_code=201)
async def add_outage(request: Request, body: OutageBody, console: ChangingAgent) -> dict[str, Any]:
    return await _save(request, body, console.agent.id)


@router.post("/agent/api/outages/{outage_id}")
async def change_outage(
    outage_id: int, request: Request, body: OutageBody, console: ChangingAgent
) -> dict[str, Any]:
    return await _save(request, body, console.agent.id, outage_id)


@router.post("/agent/api/outages/{outage_id}/resolve")
async def resolve_outage(
    outage_id: int, request: Request, console: ChangingAgent
) -> dict[str, Any]:
    web = web_of(request)
    now = web.settings.now()
    utc_now = now.astimezone(UTC).replace(tzinfo=None)
    agent_id = console.agent.id
    try:
        resolved = await web.db(lambda s: faults.resolve_outage(s, outage_id, utc_now, agent_id))
    except NotFound:
        raise HTTPException(status_code=404, detail="Diese Störung gibt es nicht.") from None
    logger.info("known outage resolved id=%s agent=%s", outage_id, agent_id)
    return _outage_json(resolved, now.tzinfo)
