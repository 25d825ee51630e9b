"""The console's queue follows changes live, one case at a time, in real Chromium.

After the whole queue on connecting, the console hears only the case that
changed (`case` frames, docs/web-chat-protocol.md): a new case appears, a
colleague's claim shows, a closed case leaves, all without a reload.
"""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.browser.conftest import customer_writes, messages
from tests.browser.test_escalation import case_of
from tests.harness.servers import Servers
from tests.harness.web_clients import Console


def test_the_queue_follows_changes_live(web: Servers, browser: Browser) -> None:
    agent = browser.new_context(viewport={"width": 1280, "height": 800}, locale="de-DE")
    customer = browser.new_context(viewport={"width": 390, "height": 844}, locale="de-DE")
    try:
        console = agent.new_page()
        console.goto(f"{web.app_url}/agent/login")
        console.get_by_test_id("login-username").fill("aylin")
        console.get_by_test_id("login-password").fill("demo-aylin-2026")
        with console.expect_websocket() as opening:
            console.get_by_test_id("login-submit").click()
        opening.value.expect_event("framereceived")  # the whole queue, once

        # A customer asks for a person while the console is open.
        page = customer.new_page()
        page.goto(f"{web.app_url}/?lang=de")
        page.get_by_test_id("chat-launcher").click()
        customer_writes(page, "Ich möchte mit einem Mitarbeiter sprechen")
        expect(messages(page, "bot").last).to_contain_text("H-")
        case_id = case_of(web, page)
        item = console.locator(f"[data-testid='queue-item'][data-case-id='{case_id}']")
        expect(item).to_contain_text("Wartet auf Übernahme")
        expect(item).to_contain_text("live")

        # A colleague claims it in his console: Aylin sees who has it.
        jonas = Console(web.app_url)
        assert jonas.login("jonas", "demo-jonas-2026").status_code == 303
        assert jonas.post(f"/agent/api/cases/{case_id}/claim").status_code == 200
        expect(item).to_contain_text("Übernommen von Jonas")

        # He closes it: it leaves her queue.
        closed = jonas.post(
            f"/agent/api/cases/{case_id}/close",
            {"disposition": "resolved", "note": "Erledigt im Test"},
        )
        assert closed.status_code == 200, closed.text
        expect(item).to_have_count(0)
    finally:
        customer.close()
        agent.close()
