"""Property-based tests: random and hostile input never breaks a channel or the import.

Against the real Rasa server (REST and voice webhooks) and the real import
command: random Unicode, huge and empty inputs, broken JSON, forged
signatures. Never a 5xx, and what is refused writes nothing.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from bot.infra.settings import DEV_TWILIO_TOKEN
from bot.ops import cli
from tests.e2e.conftest import row_counts
from tests.harness.servers import TOKEN, Servers

FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=12,
)
hostile_text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zs", "So"]), max_size=50),
    st.sampled_from(
        [
            "",
            " ",
            "\u0000\u0007\u001b[31m",
            "x" * 10_000,
            "'; DROP TABLE customers; --",
            "<script>alert(1)</script>",
            "{{7*7}} ${jndi:ldap://x}",
            "/request_human",
            '/inform{"customer_number": "10000001"}',
            "🙂" * 500,
        ]
    ),
)


def events_of(servers: Servers, sender: str) -> int:
    tracker = httpx.get(
        f"{servers.api}/conversations/{sender}/tracker", params={"token": TOKEN}, timeout=30
    ).json()
    return sum(1 for event in tracker.get("events") or [] if event["event"] == "user")


@FUZZ
@given(body=json_values)
def test_rest_webhook_survives_any_json(servers: Servers, body: object) -> None:
    reply = httpx.post(servers.webhook, json=body, timeout=60)
    assert reply.status_code in (200, 400), reply.text
    if reply.status_code == 400:
        assert "error" in reply.json()


@FUZZ
@given(raw=st.binary(max_size=2000))
def test_rest_webhook_survives_any_bytes(servers: Servers, raw: bytes) -> None:
    reply = httpx.post(
        servers.webhook, content=raw, headers={"Content-Type": "application/json"}, timeout=60
    )
    assert reply.status_code in (200, 400)


@FUZZ
@given(text=hostile_text)
def test_rest_messages_are_answered_and_refusals_not_recorded(servers: Servers, text: str) -> None:
    sender = f"fuzz-{secrets.token_hex(6)}"
    reply = httpx.post(servers.webhook, json={"sender": sender, "message": text}, timeout=60)
    assert reply.status_code == 200
    answers = reply.json()
    assert answers and all(isinstance(a, dict) for a in answers)
    if not text.strip() or len(text) > 2000:
        assert events_of(servers, sender) == 0


def _voice_url(servers: Servers) -> str:
    return f"{servers.settings.voice_base_url}/webhooks/voice/webhook"


@FUZZ
@given(
    params=st.dictionaries(st.text(max_size=20), st.text(max_size=200), max_size=6),
    # what an HTTP header can carry (printable ASCII, no surrounding spaces: h11 refuses those)
    signature=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60).map(
        str.strip
    ),
)
def test_voice_webhook_refuses_forged_requests(
    servers: Servers, params: dict[str, str], signature: str
) -> None:
    before = row_counts(servers.database_url)["phone_calls"]
    reply = httpx.post(
        _voice_url(servers), data=params, headers={"X-Twilio-Signature": signature}, timeout=60
    )
    assert reply.status_code == 403
    assert row_counts(servers.database_url)["phone_calls"] == before


@FUZZ
@given(
    speech=hostile_text,
    digits=st.text(alphabet="0123456789*#abc", max_size=30),
    step=st.sampled_from(["start", "language", "turn", "pending", "bogus", ""]),
    turn=st.text(alphabet="0123456789-x", max_size=6),
)
def test_signed_voice_requests_never_fail(
    servers: Servers, speech: str, digits: str, step: str, turn: str
) -> None:
    url = f"{_voice_url(servers)}?step={step}&turn={turn}" if step else _voice_url(servers)
    params = {
        "CallSid": "CA" + secrets.token_hex(16),
        "From": "+4915100000000",
        "SpeechResult": speech,
        "Digits": digits,
    }
    signature = RequestValidator(DEV_TWILIO_TOKEN).compute_signature(url, params)
    reply = httpx.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=60)
    assert reply.status_code == 200
    assert reply.text.startswith("<?xml") and "<Response>" in reply.text


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(document=json_values)
def test_import_refuses_bad_documents_and_changes_nothing(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, document: object
) -> None:
    before = row_counts(database_url)
    path = Path(tmp_path_factory.mktemp("import")) / "customers.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    code = cli.main(["import-data", str(path)])
    assert code in (0, 1, 2)
    if code != 0:
        assert row_counts(database_url) == before


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw=st.binary(max_size=500))
def test_import_refuses_files_that_are_not_json(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, raw: bytes
) -> None:
    before = row_counts(database_url)
    path = Path(tmp_path_factory.mktemp("import")) / "broken.json"
    path.write_bytes(b"\xff" + raw)
    assert cli.main(["import-data", str(path)]) == 2
    assert row_counts(database_url) == before
