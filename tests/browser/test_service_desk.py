"""The console's back-office pages in real Chromium: fault tickets with their data,
filtered by type and closed; known outages entered by an agent, told to customers.
"""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import ARTIFACTS, customer_writes, messages
from tests.e2e.conftest import Chat
from tests.harness.servers import Servers


def logged_in(browser: Browser, web: Servers) -> Page:
    agent = browser.new_context(viewport={"width": 1280, "height": 900}, locale="de-DE")
    page = agent.new_page()
    page.goto(f"{web.app_url}/agent/login")
    page.get_by_test_id("login-username").fill("aylin")
    page.get_by_test_id("login-password").fill("demo-aylin-2026")
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(re.compile(r"/agent$"))
    return page


def test_a_fault_ticket_from_the_web_chat_shows_with_its_data_and_is_closed(
    web: Servers, browser: Browser
) -> None:
    customer = browser.new_context(viewport={"width": 390, "height": 844}, locale="de-DE")
    try:
        chat = customer.new_page()
        chat.goto(f"{web.app_url}/?lang=de")
        chat.get_by_test_id("chat-launcher").click()
        for text, asked in [
            ("Die Straßenlaterne vor meinem Haus ist aus", "Postleitzahl"),
            ("44137", "Wo steht die Laterne"),
            ("Kampstraße 14", "Was ist mit der Laterne"),
        ]:
            customer_writes(chat, text)
            expect(messages(chat, "bot").last).to_contain_text(asked)
        customer_writes(chat, "ganz aus seit gestern Abend")
        expect(messages(chat, "bot").last).to_contain_text("SM-")
        reference = re.search(r"SM-\d{8}", messages(chat, "bot").last.inner_text()).group(0)

        console = logged_in(browser, web)
        console.get_by_role("link", name="Vorgänge").click()
        row = console.locator(f"tr[data-reference='{reference}']")
        expect(row).to_contain_text("Störung")
        console.get_by_test_id("type-filter").get_by_role("button", name="Umzüge").click()
        expect(row).to_have_count(0)
        console.get_by_test_id("type-filter").get_by_role("button", name="Störungen").click()
        row.click()
        detail = console.get_by_test_id("service-case")
        expect(detail).to_contain_text("Straßenbeleuchtung")
        expect(detail).to_contain_text("Kampstraße 14")
        expect(detail).to_contain_text("ganz aus seit gestern Abend")
        console.screenshot(path=str(ARTIFACTS / "service-case.png"))
        console.get_by_test_id("close-service-case").click()
        expect(row).to_have_count(0)
        console.get_by_test_id("status-filter").select_option("closed")
        expect(row).to_be_visible()
    finally:
        customer.close()


def test_an_outage_entered_by_an_agent_is_told_to_customers_until_resolved(
    web: Servers, browser: Browser
) -> None:
    console = logged_in(browser, web)
    console.get_by_role("link", name="Störungen").click()
    form = console.get_by_test_id("outage-form")
    form.get_by_label("Postleitzahl").fill("47057")
    form.get_by_label("Sparte").select_option("water")
    form.get_by_label("Voraussichtlich behoben").fill("2099-12-31T18:30")
    form.get_by_label("Hinweis für Kunden (Deutsch)").fill("Rohrbruch in der Hauptleitung")
    console.get_by_test_id("save-outage").click()
    row = console.get_by_test_id("outages").locator("tbody tr", has_text="47057")
    expect(row).to_contain_text("Wasser")
    expect(row).to_contain_text("31.12.2099 18:30 Uhr")
    console.screenshot(path=str(ARTIFACTS / "outages.png"))

    customer = Chat(web)
    reply = customer.texts("Bei uns kommt kein Wasser, PLZ 47057")
    assert "Rohrbruch in der Hauptleitung" in reply and "31. Dezember um 18:30 Uhr" in reply

    row.get_by_test_id("resolve-outage").click()
    expect(row).to_have_count(0)
    later = Chat(web)
    later.say("Bei uns kommt kein Wasser")
    assert "Nachbarn" in later.texts("47057")  # no longer known: the quick checks


def test_complaints_show_with_their_category(web: Servers, browser: Browser) -> None:
    customer = Chat(web)
    for text in (
        "Ich möchte mich beschweren",
        "Rechnung",
        "Die Abrechnung kam zwei Monate zu spät",
    ):
        customer.say(text)
    reference = re.search(r"BS-\d{8}", customer.texts("kunde@example.org")).group(0)

    console = logged_in(browser, web)
    console.get_by_role("link", name="Vorgänge").click()
    console.get_by_test_id("type-filter").get_by_role("button", name="Beschwerden").click()
    row = console.locator(f"tr[data-reference='{reference}']")
    expect(row).to_contain_text("Beschwerde · Rechnung")
    expect(
        console.get_by_test_id("service-cases").locator("tbody tr", has_text="SM-")
    ).to_have_count(0)
    row.click()
    detail = console.get_by_test_id("service-case")
    expect(detail).to_contain_text("Die Abrechnung kam zwei Monate zu spät")
    expect(detail).to_contain_text("kunde@example.org")


def test_tariff_switches_and_appointments_show_under_their_types(
    web: Servers, browser: Browser
) -> None:
    customer = Chat(web)
    customer.say("Was kostet Ökostrom?")
    customer.say("Ja")
    customer.say("10000002 44137 12.03.1975")
    switched = customer.texts('/inform{"tariff": "strom-oeko", "contract_number": "30000002"}')
    tariff_reference = re.search(r"TW-\d{8}", switched).group(0)
    visitor = Chat(web)
    visitor.say("Ich brauche einen Termin für einen Zählerwechsel")
    offered = visitor.say("den ersten")
    assert "Namen" in " ".join(m.get("text", "") for m in offered)
    visitor.say("Jana Becker")
    visitor.say("Kampstraße 12, 44137 Dortmund")
    booked = visitor.texts("jana.becker@example.org")
    appointment_reference = re.search(r"TE-\d{8}", booked).group(0)

    console = logged_in(browser, web)
    console.get_by_role("link", name="Vorgänge").click()
    console.get_by_test_id("type-filter").get_by_role("button", name="Tarifwechsel").click()
    row = console.locator(f"tr[data-reference='{tariff_reference}']")
    expect(row).to_contain_text("Tarifwechsel")
    expect(console.locator(f"tr[data-reference='{appointment_reference}']")).to_have_count(0)
    row.click()
    detail = console.get_by_test_id("service-case")
    expect(detail).to_contain_text("Neuer Tarif")
    expect(detail).to_contain_text("Strom Öko")
    expect(detail).to_contain_text("Strom Basis")

    console.get_by_test_id("type-filter").get_by_role("button", name="Termine").click()
    row = console.locator(f"tr[data-reference='{appointment_reference}']")
    expect(row).to_contain_text("Termin")
    row.click()
    expect(detail).to_contain_text("Zählerwechsel")
    expect(detail).to_contain_text("beim Kunden zu Hause")
    expect(detail).to_contain_text("Kampstraße 12, 44137 Dortmund")
    console.screenshot(path=str(ARTIFACTS / "appointment-case.png"))
