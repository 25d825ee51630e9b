"""On a shared computer the customer ends the chat: the next visitor sees nothing of it."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.browser.conftest import ARTIFACTS, customer_writes, messages
from tests.harness.servers import Servers


def test_ending_the_chat_forgets_token_and_history(web: Servers, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="de")
    try:
        page = context.new_page()
        page.goto(f"{web.app_url}/?lang=de")
        page.get_by_test_id("chat-launcher").click()
        customer_writes(page, "Ich habe eine Frage zu meiner Rechnung")
        expect(messages(page, "bot")).not_to_have_count(0)
        page.screenshot(path=str(ARTIFACTS / "widget-de-before-end.png"))
        token = page.evaluate("localStorage.getItem('stadtwerk-chat-token')")
        assert token

        page.get_by_test_id("chat-end").click()
        assert page.evaluate("localStorage.getItem('stadtwerk-chat-token')") is None
        # The next person at this computer opens the chat: a new, empty conversation.
        page.reload()
        page.get_by_test_id("chat-launcher").click()
        expect(page.get_by_test_id("chat-input")).to_be_focused()
        expect(messages(page, "customer")).to_have_count(0)
        page.wait_for_function("localStorage.getItem('stadtwerk-chat-token') !== null")
        assert page.evaluate("localStorage.getItem('stadtwerk-chat-token')") != token
    finally:
        context.close()
