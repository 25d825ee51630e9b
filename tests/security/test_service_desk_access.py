"""The console's back-office API (bot/web/service_desk.py) against the real app: only a
logged-in agent reads cases and outages, only with the CSRF token changes them, and bad
input changes nothing."""

from __future__ import annotations

from tests.harness.servers import Servers
from tests.harness.web_clients import Console

AYLIN = ("aylin", "demo-aylin-2026")
OUTAGE = {"postcode": "44135", "commodity": "electricity", "note_de": "<script>alert(1)</script>"}


def logged_in(web: Servers) -> Console:
    console = Console(web.app_url)
    assert console.login(*AYLIN).status_code == 303
    return console


def test_strangers_read_and_change_nothing(web: Servers) -> None:
    stranger = Console(web.app_url)
    assert stranger.get("/agent/api/service-cases").status_code == 401
    assert stranger.get("/agent/api/outages").status_code == 401
    assert stranger.post("/agent/api/outages", OUTAGE).status_code == 401
    page = stranger.get("/agent/cases")
    assert page.status_code == 303 and page.headers["location"] == "/agent/login"


def test_a_change_without_the_csrf_token_is_refused(web: Servers) -> None:
    console = logged_in(web)
    before = console.get("/agent/api/outages").json()
    assert console.post("/agent/api/outages", OUTAGE, csrf=False).status_code == 403
    assert console.post("/agent/api/outages/1/resolve", csrf=False).status_code == 403
    assert console.post("/agent/api/service-cases/SM-00000000/close", csrf=False).status_code == 403
    assert console.get("/agent/api/outages").json() == before


def test_bad_outages_are_refused_with_a_reason_and_stored_text_stays_text(web: Servers) -> None:
    console = logged_in(web)
    for body, reason in [
        ({**OUTAGE, "postcode": "4413"}, "fünfstellige Postleitzahl"),
        ({**OUTAGE, "commodity": "internet"}, "Sparte"),
        ({**OUTAGE, "note_de": "x" * 301}, "höchstens 300"),
        ({**OUTAGE, "expected_end": "gestern"}, "Datum und Uhrzeit"),
        (
            {**OUTAGE, "started_at": "2026-12-06T12:00", "expected_end": "2026-12-06T11:00"},
            "nach dem Beginn",
        ),
    ]:
        answer = console.post("/agent/api/outages", body)
        assert answer.status_code == 422 and reason in answer.json()["detail"], answer.text
    saved = console.post("/agent/api/outages", OUTAGE)
    assert saved.status_code == 201
    assert saved.json()["note_de"] == "<script>alert(1)</script>"  # shown with textContent
    assert console.post("/agent/api/outages/999999/resolve").status_code == 404
    assert console.post(f"/agent/api/outages/{saved.json()['id']}/resolve").status_code == 200
    assert console.get("/agent/api/service-cases?type=weather").status_code == 422
    assert console.get("/agent/api/service-cases/SM-00000000").status_code == 404
