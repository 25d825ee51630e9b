"""`GET /metrics` of the real Rasa server, action server and web app: what a turn
counts there, and that only Prometheus may read it."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.infra.settings import DEV_TWILIO_TOKEN
from bot.ops.phone_sim import PhoneCall
from tests.e2e.conftest import Chat, handoff_payload, joined
from tests.harness.servers import METRICS_TOKEN, TOKEN, Servers
from tests.harness.web_clients import Console

STRANGER = {"X-Forwarded-For": "198.51.100.23"}  # a client named by our proxy (this machine)


def scrape(url: str, **headers: str) -> httpx.Response:
    return httpx.get(f"{url}/metrics", headers=headers, timeout=30)


def sample(base_url: str, name: str, **labels: str) -> float:
    """The sum of the samples called `name` with these labels (0 if there is none)."""
    answer = scrape(base_url)
    assert answer.status_code == 200, answer.text
    return sum(
        value.value
        for family in text_string_to_metric_families(answer.text)
        for value in family.samples
        if value.name == name and labels.items() <= value.labels.items()
    )


def action_server(servers: Servers) -> str:
    return servers.settings.action_server_base_url


def test_rest_and_phone_turns_are_timed_and_counted_by_channel(servers: Servers) -> None:
    rasa = servers.api
    turns = {c: sample(rasa, "stadtwerk_turn_seconds_count", channel=c) for c in ("rest", "voice")}
    begun = {c: sample(rasa, "stadtwerk_conversations_total", channel=c) for c in ("rest", "voice")}

    chat = Chat(servers)
    chat.say("Hallo")
    chat.say("Was kostet Strom bei Ihnen?")
    assert sample(rasa, "stadtwerk_turn_seconds_count", channel="rest") == turns["rest"] + 2
    assert sample(rasa, "stadtwerk_turn_seconds_count", channel="voice") == turns["voice"]
    assert sample(rasa, "stadtwerk_conversations_total", channel="rest") == begun["rest"] + 1

    call = PhoneCall(servers.settings.voice_base_url, DEV_TWILIO_TOKEN)
    call.start()
    call.press("1")  # the language menu: no bot turn
    menus = sample(rasa, "stadtwerk_turn_seconds_count", channel="voice")
    assert menus == turns["voice"]
    call.say("Ich habe eine Frage zu meiner Rechnung")
    assert sample(rasa, "stadtwerk_turn_seconds_count", channel="voice") == menus + 1
    assert sample(rasa, "stadtwerk_conversations_total", channel="voice") == begun["voice"] + 1
    slow = sample(rasa, "stadtwerk_turn_seconds_bucket", channel="voice", le="+Inf")
    assert slow == menus + 1  # every turn is in the histogram's buckets


def test_a_request_twilio_sends_again_is_a_retry_not_a_turn(servers: Servers) -> None:
    rasa = servers.api
    call = PhoneCall(servers.settings.voice_base_url, DEV_TWILIO_TOKEN)
    call.start()
    call.press("1")
    assert call.next_url
    url, params = call.next_url, call._params(SpeechResult="Meine Rechnung bitte", Confidence="0.9")
    retries = sample(rasa, "stadtwerk_twilio_retries_total")
    first = call._post(url, params)
    turns = sample(rasa, "stadtwerk_turn_seconds_count", channel="voice")
    again = call._post(url, params)  # Twilio did not get the answer in time and asks again
    assert first.status_code == again.status_code == 200 and again.text == first.text
    assert sample(rasa, "stadtwerk_twilio_retries_total") == retries + 1
    assert sample(rasa, "stadtwerk_turn_seconds_count", channel="voice") == turns


def test_rasas_metrics_are_for_prometheus_only_not_for_rasas_token(servers: Servers) -> None:
    rasa = servers.api
    refused = [
        scrape(rasa, **STRANGER),
        scrape(rasa, **STRANGER, Authorization="Bearer guess"),
        scrape(rasa, **STRANGER, Authorization=f"Bearer {TOKEN}"),  # Rasa's API token
        httpx.get(f"{rasa}/metrics", params={"token": TOKEN}, headers=STRANGER, timeout=30),
    ]
    for answer in refused:
        assert answer.status_code == 403 and "stadtwerk_" not in answer.text
    allowed = [
        scrape(rasa),  # this machine: no token needed, not even Rasa's
        scrape(rasa, **STRANGER, Authorization=f"Bearer {METRICS_TOKEN}"),
    ]
    for answer in allowed:
        assert answer.status_code == 200 and "stadtwerk_turn_seconds_bucket" in answer.text
        assert answer.headers["content-type"].startswith("text/plain")
    # Rasa's own API still wants its token (the route added nothing to it)
    assert httpx.get(f"{rasa}/status", timeout=30).status_code == 401


def test_no_personal_data_in_rasas_metrics(servers: Servers) -> None:
    chat = Chat(servers, sender="e2e-metrics-10000002")
    chat.say("Meine Kundennummer ist 10000002")
    text = scrape(servers.api).text
    assert "10000002" not in text and "Kundennummer" not in text and chat.sender not in text


@pytest.mark.action_server
def test_the_action_server_times_actions_for_prometheus_only(servers: Servers) -> None:
    actions = action_server(servers)
    before = sample(actions, "stadtwerk_action_seconds_count")
    chat = Chat(servers)
    assert "Kundennummer" in joined(chat.say("Ich möchte meinen Abschlag ändern"))
    chat.say("10000002")  # the form's validation is a custom action
    assert sample(actions, "stadtwerk_action_seconds_count") > before
    secret = {"X-Action-Secret": TOKEN}  # what Rasa sends: no key to the metrics
    for answer in (
        scrape(actions, **STRANGER),
        scrape(actions, **STRANGER, **secret),
        scrape(actions, **STRANGER, Authorization=f"Bearer {TOKEN}"),
    ):
        assert answer.status_code == 403 and "stadtwerk_" not in answer.text
    allowed = scrape(actions, **STRANGER, Authorization=f"Bearer {METRICS_TOKEN}")
    assert allowed.status_code == 200 and "stadtwerk_action_seconds" in allowed.text
    # the actions themselves still need the secret
    assert httpx.post(f"{actions}/webhook", json={}, timeout=30).status_code == 401


@pytest.mark.action_server
def test_an_apology_for_a_failed_action_server_is_counted(servers: Servers) -> None:
    rasa = servers.api
    chat = Chat(servers)
    assert "Kundennummer" in joined(chat.say("Ich möchte meinen Abschlag ändern"))
    apologies = sample(rasa, "stadtwerk_apologies_total")
    servers.kill("actions")
    try:
        assert "technisches Problem" in joined(chat.say("10000013"))
    finally:
        servers.start_one("actions")
    assert sample(rasa, "stadtwerk_apologies_total") == apologies + 1


def test_the_wait_until_an_agent_claims_is_observed_once(web: Servers) -> None:
    waits = sample(web.app_url, "stadtwerk_handoff_wait_seconds_count")
    case = handoff_payload(Chat(web).say("Ich möchte bitte mit einem Mitarbeiter sprechen"))
    assert case is not None
    console = Console(web.app_url)
    assert console.login("aylin", "demo-aylin-2026").status_code == 303
    for _ in range(2):  # the second claim of her own case is no new wait
        claimed = console.post(f"/agent/api/cases/{case['case_id']}/claim")
        assert claimed.status_code == 200, claimed.text
    assert sample(web.app_url, "stadtwerk_handoff_wait_seconds_count") == waits + 1
    assert sample(web.app_url, "stadtwerk_handoff_promised_wait_seconds") == 300
