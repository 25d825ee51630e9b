"""The whole escalation loop in real Chromium: widget, agent console, back to the bot.

Debian's `chromium` (scripts/ensure_chromium.sh) driven by Playwright through
its executable path; Playwright never downloads a browser. Screenshots go to
test-artifacts/browser/.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from bot.domain.models import ChatSession
from bot.domain.services.agents import token_hash
from bot.infra.db import session_scope
from tests.browser.conftest import ARTIFACTS, customer_writes, messages
from tests.harness.servers import Servers

# What the customer writes and what the agent answers, per language.
SCRIPT = {
    "tr": {
        "hello": "merhaba",
        "person": "bir temsilciyle görüşmek istiyorum",
        "waiting": "temsilci",
        "agent_reply": "Merhaba, ben Aylin. Size nasıl yardımcı olabilirim?",
        "after": "faturamı öğrenmek istiyorum",
        "bot_asks": "müşteri numaranız",
    },
    "de": {
        "hello": "Guten Tag",
        "person": "Ich möchte mit einem Mitarbeiter sprechen",
        "waiting": "Mitarbeiter",
        "agent_reply": "Guten Tag, hier ist Aylin. Wie kann ich helfen?",
        "after": "Ich habe eine Frage zu meiner Rechnung",
        "bot_asks": "Kundennummer",
    },
}


def case_of(web: Servers, page: Page) -> str:
    """The case id of the customer's chat (found by the token the widget keeps)."""
    token = page.evaluate("localStorage.getItem('stadtwerk-chat-token')")
    with session_scope(web.database_url) as session:
        chat = session.scalars(
            select(ChatSession).where(ChatSession.token_hash == token_hash(token))
        ).one()
        assert chat.case_id, "the chat was not handed off"
        return chat.case_id


@pytest.mark.parametrize("language", ["tr", "de"])
def test_escalation_loop(web: Servers, browser: Browser, language: str) -> None:
    words = SCRIPT[language]
    customer = browser.new_context(viewport={"width": 390, "height": 844}, locale=language)
    agent = browser.new_context(viewport={"width": 1280, "height": 800}, locale="de-DE")
    try:
        # The customer opens the utility's page and chats with the bot.
        page = customer.new_page()
        page.goto(f"{web.app_url}/?lang={language}")
        page.get_by_test_id("chat-launcher").click()
        expect(page.get_by_test_id("chat-input")).to_be_focused()
        customer_writes(page, words["hello"])
        expect(messages(page, "bot")).not_to_have_count(0)
        customer_writes(page, words["person"])
        expect(messages(page, "bot").last).to_contain_text("H-")
        case_id = case_of(web, page)
        page.screenshot(path=str(ARTIFACTS / f"widget-{language}-waiting.png"))

        # The app restarts in the middle: the case waits, the widget reconnects.
        web.restart("web")
        page.reload()
        page.get_by_test_id("chat-launcher").click()
        expect(messages(page, "customer")).to_have_count(2)
        expect(messages(page, "customer").last).to_have_text(re.compile(words["person"]))

        # An agent logs in, finds the case, reads the transcript, claims, replies.
        console = agent.new_page()
        console.goto(f"{web.app_url}/agent")
        console.get_by_test_id("login-username").fill("aylin")
        console.get_by_test_id("login-password").fill("demo-aylin-2026")
        console.get_by_test_id("login-submit").click()
        item = console.locator(f"[data-testid='queue-item'][data-case-id='{case_id}']")
        item.click()
        transcript = console.get_by_test_id("transcript")
        expect(transcript).to_contain_text(words["person"])
        console.get_by_test_id("claim").click()
        expect(console.get_by_test_id("reply-input")).to_be_visible()
        console.get_by_test_id("reply-input").fill(words["agent_reply"])
        console.get_by_test_id("reply-send").click()
        console.screenshot(path=str(ARTIFACTS / f"console-{language}-claimed.png"))

        # The customer sees the reply, marked as from a person.
        expect(messages(page, "agent").last).to_contain_text(words["agent_reply"])
        expect(messages(page, "agent").last).to_contain_text("Aylin")
        page.screenshot(path=str(ARTIFACTS / f"widget-{language}-agent.png"))

        # Back to the bot: it answers the next message in the customer's language.
        console.get_by_test_id("release").click()
        expect(page.get_by_test_id("chat-status")).not_to_contain_text("Aylin")
        bot_before = messages(page, "bot").count()
        customer_writes(page, words["after"])
        expect(messages(page, "bot")).to_have_count(bot_before + 1)
        expect(messages(page, "bot").last).to_contain_text(words["bot_asks"])
        page.screenshot(path=str(ARTIFACTS / f"widget-{language}-back-to-bot.png"))
    finally:
        customer.close()
        agent.close()


def test_dashboard_draws_its_charts(web: Servers, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{web.app_url}/agent/login")
        page.get_by_test_id("login-username").fill("jonas")
        page.get_by_test_id("login-password").fill("demo-jonas-2026")
        page.get_by_test_id("login-submit").click()
        page.goto(f"{web.app_url}/agent/dashboard")
        for chart in ("chart-channels", "chart-languages", "chart-reasons"):
            expect(page.get_by_test_id(chart).locator("svg")).to_be_visible()
        expect(page.get_by_test_id("containment")).to_contain_text("%")
        # containment per request and channel: the escalated conversations' requests
        by_intent = page.get_by_test_id("containment-by-intent").locator("tbody tr")
        expect(by_intent.first).to_contain_text("%")
        page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    finally:
        context.close()
