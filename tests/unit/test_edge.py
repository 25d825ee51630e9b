"""The edge proxy: real nginx with the configuration bot/ops/edge.py writes.

Upstreams are echo servers here (what reached them, with which headers);
tests/security/test_faults.py puts it in front of real Rasa instances, and
tests/production/ runs `make run-prod`'s topology through it.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from bot.infra.settings import SettingsError, load_settings
from bot.ops.edge import EdgePlan, make_self_signed, nginx_command, plan_for
from tests.harness.edge import EchoServer, checked, local_plan, port_of, running_edge, trust

RASA_API = ["/status", "/version", "/model", "/conversations/x/tracker", "/domain"]


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """nginx in front of an echo 'rasa' and an echo 'web'; (plan, log file)."""
    folder = tmp_path_factory.mktemp("edge")
    rasa, web = EchoServer("rasa"), EchoServer("web")
    plan = local_plan(folder, (rasa.address,), web.address)
    with running_edge(plan, folder) as log:
        yield plan, log
    rasa.close()
    web.close()


def public(plan: EdgePlan) -> httpx.Client:
    return httpx.Client(
        base_url=f"https://localhost:{plan.https_port}", verify=trust(plan), timeout=10
    )


def internal(plan: EdgePlan) -> httpx.Client:
    return httpx.Client(base_url=f"http://{plan.internal_listen}", timeout=10)


def reached(answer: httpx.Response) -> str:
    """Which upstream answered ('rasa', 'web'), or the edge's own status."""
    if answer.headers.get("content-type") == "application/json":
        return answer.json().get("server", str(answer.status_code))
    return str(answer.status_code)


# --- the configuration of every topology passes nginx's own check --------------------------


def test_this_machines_edge_passes_nginx_t(tmp_path: Path) -> None:
    settings = load_settings().replace(
        edge="nginx", rasa_instances=2, redis_url="redis://127.0.0.1:6379/0",
        tracker_store_url="postgresql://postgres@127.0.0.1/x", edge_dir=str(tmp_path),
    )  # fmt: skip
    plan = plan_for(settings)
    make_self_signed(Path(plan.tls_cert), Path(plan.tls_key), "localhost")
    assert plan.rasa == ("127.0.0.1:5006", "127.0.0.1:5007")
    assert plan.internal_listen == "127.0.0.1:5005" and plan.https_port == 8443
    assert checked(plan, tmp_path) == (0, "")


def test_the_check_fails_for_a_missing_certificate(tmp_path: Path) -> None:
    plan = local_plan(tmp_path, ("127.0.0.1:1",), "127.0.0.1:2")
    returncode, messages = checked(replace(plan, tls_cert=str(tmp_path / "none.pem")), tmp_path)
    assert returncode != 0 and "none.pem" in messages


def test_the_development_certificate_names_this_machine(tmp_path: Path) -> None:
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    make_self_signed(cert, key, "bot.example")
    context = ssl.create_default_context(cafile=cert)
    context.load_cert_chain(cert, key)  # the key belongs to the certificate
    assert key.stat().st_mode & 0o077 == 0  # the key is readable by its owner only
    names = x509.load_pem_x509_certificate(cert.read_bytes()).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    assert names.value.get_values_for_type(x509.DNSName) == ["bot.example", "localhost"]
    assert [str(ip) for ip in names.value.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]


# --- what goes where ------------------------------------------------------------------------


PUBLIC_ROUTES = [
    ("POST", "/webhooks/rest/webhook", "rasa"),
    ("POST", "/webhooks/voice/webhook", "rasa"),
    ("POST", "/webhooks/voice/status", "rasa"),
    ("POST", "/webhooks/voice/whisper", "rasa"),
    ("GET", "/webhooks/rest/webhook", "403"),  # the webhooks take POSTs only
    ("POST", "/webhooks/web/turn", "404"),  # the web app's own way into Rasa
    ("GET", "/webhooks/rest/", "404"),
    ("GET", "/", "web"),
    ("GET", "/?lang=tr", "web"),
    ("GET", "/agent", "web"),
    ("POST", "/agent/api/cases/1/claim", "web"),
    ("GET", "/static/widget.js", "web"),
    ("GET", "/health", "web"),
    ("GET", "/metrics", "404"),
    ("GET", "/ready", "404"),
    ("GET", "/docs", "404"),
    ("GET", "/openapi.json", "404"),
    ("GET", "/redoc", "404"),
]


@pytest.mark.parametrize(("method", "path", "where"), PUBLIC_ROUTES)
def test_the_public_server_routes(edge, method: str, path: str, where: str) -> None:  # type: ignore[no-untyped-def]
    plan, _ = edge
    with public(plan) as client:
        assert reached(client.request(method, path)) == where


@pytest.mark.parametrize("path", RASA_API)
def test_rasas_api_never_reaches_rasa_from_outside(edge, path: str) -> None:  # type: ignore[no-untyped-def]
    plan, _ = edge
    with public(plan) as client:
        assert reached(client.get(path)) != "rasa"
    with internal(plan) as client:
        assert reached(client.get(path)) == "404"


@pytest.mark.parametrize(
    "target",
    [
        "/webhooks/rest/../../status",
        "/webhooks/voice/%2e%2e/%2e%2e/status",
        "/webhooks/rest/webhook/../../../conversations/x/tracker",
        "/webhooks//rest/webhook/..%2f..%2fstatus",
    ],
)
def test_dot_segments_lead_nowhere(edge, target: str) -> None:  # type: ignore[no-untyped-def]
    plan, _ = edge
    address = ("127.0.0.1", port_of(plan.internal_listen))
    with socket.create_connection(address, timeout=10) as connection:
        connection.sendall(
            f"POST {target} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        answer = connection.recv(4096).decode("latin-1")
    assert answer.startswith(("HTTP/1.1 404", "HTTP/1.1 400")), (target, answer[:80])


INTERNAL_ROUTES = [
    ("GET", "/", "rasa"),
    ("POST", "/webhooks/rest/webhook", "rasa"),
    ("POST", "/webhooks/voice/webhook", "rasa"),
    ("POST", "/webhooks/web/turn", "rasa"),
    ("POST", "/webhooks/web/language", "rasa"),
    ("POST", "/webhooks/web/resume", "rasa"),
    ("GET", "/agent", "404"),
    ("GET", "/metrics", "404"),
]


@pytest.mark.parametrize(("method", "path", "where"), INTERNAL_ROUTES)
def test_the_internal_server_passes_the_channels_only(
    edge, method: str, path: str, where: str
) -> None:  # type: ignore[no-untyped-def]
    plan, _ = edge
    with internal(plan) as client:
        assert reached(client.request(method, path)) == where
        assert client.get("/_edge/health").text == "ok\n"
    with public(plan) as client:
        assert reached(client.get("/_edge/health")) == "web"  # not the edge's own


# --- who is asking ---------------------------------------------------------------------------


def test_a_forged_forwarded_for_is_replaced_by_the_peer(edge) -> None:  # type: ignore[no-untyped-def]
    plan, _ = edge
    forged = {"X-Forwarded-For": "6.6.6.6", "X-Real-IP": "6.6.6.6", "X-Forwarded-Proto": "http"}
    with public(plan) as client:
        for path in ("/agent", "/webhooks/rest/webhook"):
            seen = client.post(path, headers=forged).json()["headers"]
            assert seen["x-forwarded-for"] == "127.0.0.1", path
            assert seen["x-real-ip"] == "127.0.0.1"
            assert seen["x-forwarded-proto"] == "https"
            # the browser's Host with its port (the console compares it with Origin)
            assert seen["host"] == f"localhost:{plan.https_port}"


def test_the_internal_server_keeps_what_its_callers_say(edge) -> None:  # type: ignore[no-untyped-def]
    """The web app (trusted) names its customer; the edge adds itself after it."""
    plan, _ = edge
    with internal(plan) as client:
        seen = client.post("/webhooks/web/turn", headers={"X-Forwarded-For": "203.0.113.9"})
    assert seen.json()["headers"]["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"


# --- TLS, redirects, certificates, limits, log ------------------------------------------------


def test_https_only_with_strict_transport_security(edge) -> None:  # type: ignore[no-untyped-def]
    plan, _ = edge
    with public(plan) as client:
        answer = client.get("/")
    assert answer.http_version in ("HTTP/1.1", "HTTP/2")
    assert answer.headers["strict-transport-security"].startswith("max-age=")
    assert "server" not in answer.headers or "nginx/" not in answer.headers["server"]
    with pytest.raises(httpx.ConnectError):  # nobody trusts it without the certificate
        httpx.get(f"https://localhost:{plan.https_port}/", timeout=10)


def test_plain_http_is_redirected_and_serves_the_acme_challenge(edge) -> None:  # type: ignore[no-untyped-def]
    plan, _ = edge
    base = f"http://localhost:{port_of(plan.http_listen)}"
    answer = httpx.get(f"{base}/agent?x=1", timeout=10)
    assert answer.status_code == 308
    assert answer.headers["location"] == f"https://localhost:{plan.https_port}/agent?x=1"
    challenge = Path(plan.acme_root) / ".well-known" / "acme-challenge"
    challenge.mkdir(parents=True, exist_ok=True)
    (challenge / "token-123").write_text("token-123.key")
    proof = httpx.get(f"{base}/.well-known/acme-challenge/token-123", timeout=10)
    assert proof.status_code == 200 and proof.text == "token-123.key"


def test_bodies_over_the_limit_are_refused(edge) -> None:  # type: ignore[no-untyped-def]
    plan, _ = edge
    big = b"x" * (plan.max_body_bytes + 1)
    with public(plan) as client:
        assert client.post("/webhooks/rest/webhook", content=big).status_code == 413
        assert client.post("/agent/login", content=big).status_code == 413
        fits = client.post("/webhooks/rest/webhook", content=b"x" * plan.max_body_bytes)
        assert fits.json()["body_bytes"] == plan.max_body_bytes
        # receipts may be as large as the app takes them, with the form's overhead
        receipt = client.post("/chat/receipt", content=b"x" * (plan.receipt_max_bytes + 1000))
        assert receipt.json()["body_bytes"] == plan.receipt_max_bytes + 1000
        too_big = b"x" * (plan.receipt_max_bytes + 70_000)
        assert client.post("/chat/receipt", content=too_big).status_code == 413


def test_the_log_names_no_client_and_no_query(edge) -> None:  # type: ignore[no-untyped-def]
    plan, log = edge
    with public(plan) as client:
        client.post("/webhooks/voice/webhook?From=%2B4915112345678&token=s3cret")
    with internal(plan) as client:
        client.get("/?token=s3cret")
    written(log, "GET / ")  # the last request's line
    text = log.read_text()
    assert "/webhooks/voice/webhook" in text
    assert "s3cret" not in text and "4915112345678" not in text and "From=" not in text


def written(log: Path, marker: str) -> str:
    """The first line of the log with `marker` (nginx writes it just after answering)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = [line for line in log.read_text().splitlines() if marker in line]
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no line with {marker!r} in {log}")


def test_json_log_lines_are_json(tmp_path: Path) -> None:
    rasa = EchoServer("rasa")
    plan = local_plan(tmp_path, (rasa.address,), rasa.address, json_log=True)
    try:
        with running_edge(plan, tmp_path) as log:
            httpx.post(f"http://{plan.internal_listen}/webhooks/rest/webhook", timeout=10)
            line = json.loads(written(log, "{"))
    finally:
        rasa.close()
    assert line["logger"] == "edge" and line["path"] == "/webhooks/rest/webhook"
    assert line["status"] == 200 and line["upstream"] == rasa.address


# --- settings -------------------------------------------------------------------------------


def test_production_needs_a_real_certificate() -> None:
    production = {
        "app_env": "production",
        "rasa_auth_token": "a-real-rasa-token-1234567890",
        "pseudonym_key": "k" * 40,
        "twilio_auth_token": "twilio-real",
        "public_base_url": "https://assistant.example",
    }
    with pytest.raises(SettingsError, match="EDGE_TLS_CERT"):
        load_settings().replace(**production, edge="nginx")
    chosen = load_settings().replace(
        **production, edge="nginx", edge_tls_cert="/etc/c.pem", edge_tls_key="/etc/k.pem"
    )
    assert plan_for(chosen).tls_cert == "/etc/c.pem"
    with pytest.raises(SettingsError, match="go together"):
        load_settings().replace(edge_tls_cert="/etc/c.pem")


@pytest.mark.parametrize(("version", "early"), [("1.18.0", False), ("1.22.1", True)])
def test_the_error_log_flag_only_where_nginx_has_it(
    version: str, early: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ubuntu 22.04's nginx (the image's) is 1.18: `-e` came with 1.19.5."""
    fake = tmp_path / "nginx"
    fake.write_text(f"#!/bin/sh\necho 'nginx version: nginx/{version}' >&2\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    command = nginx_command(tmp_path / "nginx.conf", "-t")
    assert command[0] == str(fake)
    assert ("-e" in command) is early
    assert command[-5:] == ["-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-t"]
