"""Correctness on the production path: two Rasa instances, PostgreSQL, Redis, faults."""

from __future__ import annotations

import secrets
import shutil
import socket
import ssl
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from bot.domain.models import AdvancePaymentChange
from bot.infra.db import session_scope
from bot.infra.settings import DEV_TWILIO_TOKEN
from bot.ops.edge import client_tls
from bot.ops.phone_sim import PhoneCall
from tests.harness.servers import TOKEN, Servers
from tests.production.conftest import joined, say

# Single-contract demo customers: (language, number, postcode, birth date, current amount)
CUSTOMERS = [
    ("de", "10000011", "45130", "05.10.1940", Decimal("64.00")),
    ("de", "10000013", "44139", "17.01.1962", Decimal("80.00")),
    ("de", "10000017", "45127", "09.09.1999", Decimal("93.00")),
    ("de", "10000019", "47057", "13.11.1944", Decimal("120.00")),
    ("de", "10000023", "46045", "21.10.2002", Decimal("114.00")),
    ("tr", "10000001", "47051", "12.04.1980", Decimal("85.00")),
    ("tr", "10000006", "44139", "14.02.1992", Decimal("56.00")),
    ("tr", "10000008", "46045", "01.12.1959", Decimal("53.00")),
    ("tr", "10000016", "46045", "11.06.1966", Decimal("63.00")),
    ("tr", "10000020", "45130", "16.08.2001", Decimal("83.00")),
]
ASK = {"de": "Ich möchte meinen Abschlag ändern", "tr": "aylık ödememi değiştirmek istiyorum"}
YES = {"de": "ja", "tr": "evet"}


def changes_of(database_url: str, conversation: str) -> list[AdvancePaymentChange]:
    with session_scope(database_url) as session:
        rows = session.scalars(
            select(AdvancePaymentChange).where(AdvancePaymentChange.conversation_id == conversation)
        ).all()
        session.expunge_all()
        return list(rows)


def change_conversation(cluster: Servers, number: int) -> tuple[str, list[str]]:
    """One customer raises their advance payment, each turn on the other instance."""
    language, customer, postcode, born, current = CUSTOMERS[number % len(CUSTOMERS)]
    sender = f"cluster-{number}-{uuid.uuid4().hex[:8]}"
    turns = [ASK[language], customer, postcode, born, f"{current + 1 + number} €", YES[language]]
    replies = []
    for index, text in enumerate(turns):
        url = cluster.instance_webhook(1 + index % 2)
        replies.append(joined(say(url, sender, text, language=language, channel="rest")))
    return sender, replies


def test_fifty_concurrent_conversations_across_two_instances(cluster: Servers) -> None:
    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(lambda n: change_conversation(cluster, n), range(50)))
    for number, (sender, replies) in enumerate(results):
        language, _, _, _, current = CUSTOMERS[number % len(CUSTOMERS)]
        expected = current + 1 + number
        changes = changes_of(cluster.database_url, sender)
        assert len(changes) == 1, (sender, replies)
        assert changes[0].new_amount == expected and changes[0].channel == "rest"
        # The read-back and the confirmation were in the customer's language.
        amount = f"{expected:.2f}".replace(".", ",")
        assert amount in replies[4], replies[4]
        assert ("Erledigt" if language == "de" else "Tamamlandı") in replies[5], replies[5]


def test_the_same_confirmation_twice_at_once_changes_once(cluster: Servers) -> None:
    sender = f"double-{uuid.uuid4().hex[:8]}"
    language, customer, postcode, born, current = CUSTOMERS[1]
    for text in (ASK[language], customer, postcode, born, f"{current + 7} €"):
        say(cluster.webhook, sender, text, language=language)
    urls = [cluster.instance_webhook(1), cluster.instance_webhook(2)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda url: say(url, sender, "ja", language=language), urls))
    changes = changes_of(cluster.database_url, sender)
    assert [c.new_amount for c in changes] == [current + 7]


def test_the_edge_skips_a_stopped_instance_and_the_conversation_goes_on(cluster: Servers) -> None:
    sender = f"restart-{uuid.uuid4().hex[:8]}"
    assert "Kundennummer" in joined(say(cluster.webhook, sender, "Frage zu meiner Rechnung"))
    cluster.kill("rasa-1")
    stopped, remaining = (f"127.0.0.1:{port}" for port in cluster.settings.rasa_instance_ports)
    log = cluster.log_dir / "edge.log"
    seen = len(log.read_text().splitlines())
    try:
        # Every turn through the edge lands on the remaining instance,
        # which reads the conversation from the shared tracker store.
        for text, expected in (("10000011", "Postleitzahl"), ("45130", "Geburtsdatum")):
            assert expected in joined(say(cluster.webhook, sender, text))
        time.sleep(1)  # nginx writes a request's line just after its answer
        turns = [
            line
            for line in log.read_text().splitlines()[seen:]
            if " edge POST /webhooks/rest/webhook " in line  # the access log's lines
        ]
        assert len(turns) == 2 and all(line.endswith(remaining) for line in turns), turns
        assert sum(stopped in line for line in turns) <= 1  # refused once, then left out
    finally:
        cluster.start_one("rasa-1")
    answer = joined(say(cluster.instance_webhook(1), sender, "05.10.1940"))
    assert "64,00 €" in answer or "Rechnung" in answer


def test_action_server_down_gets_an_apology_then_the_conversation_continues(
    cluster: Servers,
) -> None:
    sender = f"actions-down-{uuid.uuid4().hex[:8]}"
    assert "Kundennummer" in joined(
        say(cluster.webhook, sender, "Ich möchte meinen Abschlag ändern")
    )
    cluster.kill("actions")
    try:
        for _ in range(2):
            answers = say(cluster.webhook, sender, "10000013")
            text = joined(answers)
            assert "technisches Problem" in text and "Mitarbeiter" in text
            assert text.count("technisches Problem") == 1  # once a turn, however much failed
    finally:
        cluster.start_one("actions")
    # The form resumes where it was: the customer number is asked for again.
    assert "Postleitzahl" in joined(say(cluster.webhook, sender, "10000013"))


# Rasa's HTTP API, with the token: neither the edge's public server nor its internal one
# (where the web app reaches Rasa) passes it on.
RASA_API = [
    ("GET", "/conversations/{sender}/tracker"),
    ("POST", "/conversations/{sender}/tracker/events"),
    ("GET", "/conversations/{sender}/story"),
    ("POST", "/conversations/{sender}/trigger_intent"),
    ("GET", "/status"),
    ("GET", "/version"),
    ("POST", "/model/parse"),
    ("PUT", "/model"),
    ("DELETE", "/model"),
]


def api_call(
    base: str, method: str, path: str, verify: ssl.SSLContext | bool = True
) -> httpx.Response:
    return httpx.request(
        method,
        base + path,
        params={"token": TOKEN},
        json={"text": "Rechnung", "name": "greet"},
        timeout=30,
        verify=verify,
    )


@pytest.mark.parametrize(("method", "path"), RASA_API)
def test_rasa_api_is_not_reachable_through_the_edge(
    cluster: Servers, web_app: str, method: str, path: str
) -> None:
    """Issue 12, finding 4. Before: the balancer, the public entry point of
    compose and systemd, passed every path on, the API included."""
    sender = f"api-{uuid.uuid4().hex[:8]}"
    assert "Kundennummer" in joined(say(cluster.webhook, sender, "Frage zu meiner Rechnung"))
    answer = api_call(cluster.api, method, path.format(sender=sender))
    assert answer.status_code == 404, answer.text
    assert "Kundennummer" not in answer.text and "events" not in answer.text
    public = api_call(
        cluster.public_url, method, path.format(sender=sender), client_tls(cluster.settings)
    )
    assert "Kundennummer" not in public.text and "events" not in public.text
    assert public.status_code in (404, 405), public.text  # the web app's, or the edge's
    if method == "GET":  # what the edge refused: Rasa's API, open on an instance's own port
        port = cluster.settings.rasa_instance_ports[0]
        assert api_call(f"http://127.0.0.1:{port}", method, path.format(sender=sender)).is_success


def raw_get(port: int, target: str) -> str:
    """A GET with `target` exactly as written (HTTP clients resolve `..` before sending)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(
            f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
        )
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer.decode("latin-1")


def test_dot_segments_do_not_lead_past_the_edge_to_the_api(cluster: Servers) -> None:
    for target in (
        f"/webhooks/rest/../../status?token={TOKEN}",
        f"/webhooks/voice/%2e%2e/%2e%2e/status?token={TOKEN}",
    ):
        answer = raw_get(cluster.settings.rasa_port, target)
        assert answer.startswith("HTTP/1.1 404"), (target, answer[:200])
        assert "model_file" not in answer


def test_the_channels_still_pass_the_edge(cluster: Servers) -> None:
    sender = f"channels-{uuid.uuid4().hex[:8]}"
    assert "Kundennummer" in joined(say(cluster.webhook, sender, "Frage zu meiner Rechnung"))
    # the web app's channel (the web app reaches Rasa through the edge's internal server)
    turn = httpx.post(
        f"{cluster.api}/webhooks/web/turn",
        json={"sender": f"web-{secrets.token_hex(12)}", "message": "Hallo", "language": "de"},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=60,
    )
    assert turn.status_code == 200 and turn.json()["messages"], turn.text
    # the phone's webhook answers (here: refuses an unsigned request itself)
    voice = httpx.post(f"{cluster.api}/webhooks/voice/webhook", data={}, timeout=30)
    assert voice.status_code == 403
    assert httpx.get(f"{cluster.api}/", timeout=10).status_code == 200  # the web app's readiness


def _postgres(command: str) -> None:
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", command, "-m", "fast"]
        if command == "stop"
        else ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", command],
        check=True,
        capture_output=True,
        timeout=60,
    )


def test_postgres_outage_is_explained_and_recovered_from_without_restarts(
    cluster: Servers,
) -> None:
    if shutil.which("pg_ctlcluster") is None or not Path("/etc/postgresql").is_dir():
        pytest.skip("needs the local PostgreSQL cluster (pg_ctlcluster) to stop and start it")
    sender = f"pg-down-{uuid.uuid4().hex[:8]}"
    assert "Kundennummer" in joined(say(cluster.webhook, sender, "Frage zu meiner Rechnung"))
    # the phone through the edge, over HTTPS, signed over the public URL as Twilio signs
    call = PhoneCall(
        cluster.settings.voice_base_url, DEV_TWILIO_TOKEN, verify=client_tls(cluster.settings)
    )
    call.start()
    _postgres("stop")
    try:
        for _ in range(2):
            text = joined(say(cluster.webhook, sender, "10000011"))
            assert "technisches Problem" in text
        # A caller, whose language cannot be read now, hears both and is passed to a person.
        answer = call.press("1")
        assert answer.transfer is not None and answer.transfer.tag == "Enqueue"
        assert "technisches Problem" in answer.spoken and "teknik bir sorun" in answer.spoken
    finally:
        _postgres("start")
    # No process was restarted; within a few turns everything works again.
    assert all(proc.poll() is None for proc in cluster.processes.values())
    deadline = time.time() + 60
    while True:
        text = joined(say(cluster.webhook, sender, "10000011"))
        if "Postleitzahl" in text or time.time() > deadline:
            break
        time.sleep(1)
    assert "Postleitzahl" in text
    assert "Geburtsdatum" in joined(say(cluster.webhook, sender, "45130"))
