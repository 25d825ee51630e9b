"""The widget offers the input a question expects, in real Chromium on a phone-sized page.

The bot's questions carry an input hint (bot/protocol.py): the widget shows
a numeric keyboard for the customer number and postcode, a keyboard with a
separator for dates and amounts, a line above the input that says the format, and
"yes"/"no" quick replies for the read-back. The whole advance-payment change
is done that way, and the change is in the database afterwards.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from bot.domain.models import AdvancePaymentChange, Contract
from bot.infra.db import session_scope
from tests.browser.conftest import ARTIFACTS, customer_writes, messages
from tests.harness.servers import Servers

PLACEHOLDER = {"de": "Nachricht schreiben …", "tr": "Mesajınızı yazın…"}
# Demo customers no other test changes (data/demo/customers.json).
SCRIPT = {
    "de": {
        "ask": "Ich möchte meinen Abschlag ändern",
        "identity": ("10000021", "45879", "04.05.1958"),
        "contract": "30000032",
        "amount": ("115 Euro", Decimal("115.00")),
        "digits": ("Bitte 8 Ziffern eingeben", "Bitte 5 Ziffern eingeben"),
        "date": "Datum als TT.MM.JJJJ",
        "amount_line": "Betrag in Euro, z. B. 85,50",
        "yes": "Ja",
        "done": "Erledigt",
    },
    "tr": {
        "ask": "aylık ödememi değiştirmek istiyorum",
        "identity": ("10000003", "47053", "03.09.1968"),
        "contract": "30000004",
        "amount": ("70 avro", Decimal("70.00")),
        "digits": ("Lütfen 8 rakam girin", "Lütfen 5 rakam girin"),
        "date": "Tarih GG.AA.YYYY olarak",
        "amount_line": "Avro olarak tutar, ör. 85,50",
        "yes": "Evet",
        "done": "Tamamlandı",
    },
}


def expects_input(
    page: Page, language: str, kind: str, mode: str, format_line: str | None = None
) -> None:
    field = page.get_by_test_id("chat-input")
    expect(field).to_have_attribute("data-expects", kind)
    expect(field).to_have_attribute("inputmode", mode)
    line = page.get_by_test_id("chat-input-format")
    if format_line is None:
        expect(line).to_be_hidden()
    else:
        expect(line).to_have_text(format_line)
    # The placeholder stays the same: what the field is for does not change.
    expect(field).to_have_attribute("placeholder", PLACEHOLDER[language])


def new_amount(database_url: str, contract_number: str) -> Decimal | None:
    with session_scope(database_url) as session:
        return session.scalar(
            select(AdvancePaymentChange.new_amount)
            .join(Contract)
            .where(Contract.contract_number == contract_number)
            .order_by(AdvancePaymentChange.id.desc())
        )


@pytest.mark.parametrize("language", ["de", "tr"])
def test_the_widget_offers_the_keyboard_each_question_expects(
    web: Servers, browser: Browser, language: str
) -> None:
    words = SCRIPT[language]
    number, postcode, born = words["identity"]
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale=language)
    try:
        page = context.new_page()
        page.goto(f"{web.app_url}/?lang={language}")
        page.get_by_test_id("chat-launcher").click()
        expects_input(page, language, "text", "text")

        customer_writes(page, words["ask"])
        expects_input(page, language, "digits", "numeric", words["digits"][0])
        page.screenshot(path=str(ARTIFACTS / f"widget-{language}-customer-number.png"))
        customer_writes(page, number)
        expects_input(page, language, "digits", "numeric", words["digits"][1])
        customer_writes(page, postcode)
        expects_input(page, language, "date", "decimal", words["date"])
        customer_writes(page, born)

        # Two contracts: the question is a choice, offered as quick replies.
        expects_input(page, language, "choice", "text")
        page.get_by_test_id("chat-quick-reply").filter(has_text=words["contract"]).click()
        expects_input(page, language, "amount", "decimal", words["amount_line"])
        customer_writes(page, words["amount"][0])

        # The read-back is a yes/no question: "yes" is one tap.
        replies = page.get_by_test_id("chat-quick-reply")
        expect(replies).to_have_count(2)
        page.screenshot(path=str(ARTIFACTS / f"widget-{language}-read-back.png"))
        replies.filter(has_text=words["yes"]).click()
        expect(messages(page, "bot").last).to_contain_text(words["done"])
        expects_input(page, language, "text", "text")
        assert new_amount(web.database_url, words["contract"]) == words["amount"][1]
    finally:
        context.close()
