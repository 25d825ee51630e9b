"""A receipt through the widget's file button, in real Chromium.

Sabine Wagner (10000027, blocked for non-payment) asks for reconnection in
the web chat; after the identity check the bot opens the priority case and
asks for the proof of payment with the input hint `file`: the widget shows
its file button, the customer picks a PNG, and the bot confirms in the chat.
The file is stored with the case. A file that is no image or PDF gets a
notice in the customer's language and is not stored.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from bot.domain.models import CaseAttachment, ChatSession, ServiceCase
from bot.domain.services.agents import token_hash
from bot.infra.db import session_scope
from tests.browser.conftest import ARTIFACTS, customer_writes, messages
from tests.e2e.test_reconnection import PNG
from tests.harness.servers import Servers

# how long a bot's answer may take on a busy machine (ms)
BOT = 30_000
SCRIPT = {
    "de": {
        "ask": "Strom wurde abgestellt, hab jetzt bezahlt",
        "button": "Zahlungsnachweis hochladen",
        "format": "Foto (JPEG, PNG) oder PDF",
        "stored": "liegt jetzt bei Ihrem Antrag",
        "refused": "kann ich leider nicht annehmen",
    },
    "tr": {
        "ask": "ödedim elektriği açın",
        "button": "Ödeme belgesi yükle",
        "format": "Fotoğraf (JPEG, PNG) veya PDF",
        "stored": "talebinize eklendi",
        "refused": "kabul edemiyorum",
    },
}


def files_of(database_url: str, token: str) -> list[tuple[str, str, bytes]]:
    with session_scope(database_url) as session:
        conversation = session.scalars(
            select(ChatSession.conversation_id).where(ChatSession.token_hash == token_hash(token))
        ).one()
        rows = session.scalars(
            select(CaseAttachment)
            .join(ServiceCase)
            .where(ServiceCase.conversation_id == conversation)
        ).all()
        return [(row.filename, row.content_type, row.content) for row in rows]


@pytest.mark.parametrize("language", ["de", "tr"])
def test_a_png_receipt_through_the_widgets_file_button(
    web: Servers, browser: Browser, language: str, tmp_path: Path
) -> None:
    words = SCRIPT[language]
    receipt = tmp_path / "ueberweisung.png"
    receipt.write_bytes(PNG)
    not_a_receipt = tmp_path / "beleg.pdf"
    not_a_receipt.write_bytes(b"<html><body>kein PDF</body></html>" + b" " * 64)
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale=language)
    try:
        page = context.new_page()
        page.goto(f"{web.app_url}/?lang={language}")
        page.get_by_test_id("chat-launcher").click()
        button = page.get_by_test_id("chat-file")
        expect(button).to_be_hidden()

        customer_writes(page, words["ask"])
        expect(page.get_by_test_id("chat-input")).to_have_attribute(
            "data-expects", "digits", timeout=BOT
        )
        customer_writes(page, "10000027 45127 30.10.1990")

        # The last question asks for the receipt: the file button, and what it takes.
        expect(page.get_by_test_id("chat-input")).to_have_attribute(
            "data-expects", "file", timeout=BOT
        )
        expect(button).to_be_visible()
        expect(button).to_have_text(words["button"])
        expect(page.get_by_test_id("chat-input-format")).to_have_text(words["format"])
        page.screenshot(path=str(ARTIFACTS / f"widget-{language}-receipt-button.png"))
        token = page.evaluate("() => window.localStorage.getItem('stadtwerk-chat-token')")

        # Not an image or a PDF (whatever its name says): a notice, nothing stored.
        with page.expect_file_chooser() as chooser:
            button.click()
        chooser.value.set_files(str(not_a_receipt))
        expect(page.locator("#stadtwerk-chat").locator(".notice")).to_contain_text(words["refused"])
        assert files_of(web.database_url, token) == []

        # The PNG: stored with the case, confirmed by the bot in the chat.
        with page.expect_file_chooser() as chooser:
            button.click()
        chooser.value.set_files(str(receipt))
        expect(messages(page, "bot").last).to_contain_text(words["stored"], timeout=BOT)
        expect(messages(page, "bot").last).to_contain_text("ueberweisung.png")
        expect(page.locator("#stadtwerk-chat").locator(".notice")).to_be_hidden()
        page.screenshot(path=str(ARTIFACTS / f"widget-{language}-receipt-stored.png"))
        assert files_of(web.database_url, token) == [("ueberweisung.png", "image/png", PNG)]
    finally:
        context.close()
