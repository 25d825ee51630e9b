"""The edge: nginx in front of every process (TLS, WebSockets, failover, limits).

    python -m bot.ops.edge run      what the launcher starts (EDGE=nginx; process `edge`)
    python -m bot.ops.edge check    `nginx -t` on the configuration the settings give

Every topology runs the edge this way (`make run-prod`, a container of
compose, a systemd unit); the configuration is written from the settings
at each start (`plan_for`). Two servers face the world:

- HTTPS (`edge_https_port`): the web app (page, widget, chat and console
  WebSockets with long timeouts, receipt uploads up to `receipt_max_bytes`),
  and of Rasa only the REST and phone webhooks. Rasa's HTTP API, the web
  app's channel into Rasa, `/metrics`, `/ready` and the API docs are not
  there. X-Forwarded-For is set to the peer's address (whatever the client
  claimed is dropped); the processes believe it only from TRUSTED_PROXIES.
- HTTP (`edge_http_port`): a redirect to HTTPS, and the ACME challenge
  directory for certificates (`certbot certonly --webroot -w <acme_root>`).

One server stays internal (`RASA_PORT` on `bind_host`): how the web app and
this machine reach Rasa, the channels only (as the public server, plus the
web app's channel and Rasa's `/`).

The Rasa instances are one upstream group. A request goes to the next
instance only if it could not be sent (connection refused, no connection
within 2 s); a POST that reached an instance is never sent again, whatever
happens to it (nginx's default without `non_idempotent`). An instance that
failed is left out for a few seconds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import ipaddress
import os
import re
import shutil
import ssl
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bot.infra.settings import Settings, get_settings

# A failed instance is not tried again for this long (then one request tests it).
FAIL_SECONDS = 5
CONNECT_SECONDS = 2
TURN_SECONDS = 60
# Chats and the console keep their WebSocket open while people type and wait.
SOCKET_SECONDS = 3600
# Below the Rasa and app servers' own keep-alive (bot/ops/launcher.py), so the
# edge closes an idle connection before the server does, never the other way.
UPSTREAM_KEEPALIVE_SECONDS = 60
# Room for a multipart upload's headers and boundaries around the receipt itself.
UPLOAD_OVERHEAD_BYTES = 65_536
CHANNELS = r"^/webhooks/(rest/webhook|voice/(webhook|status|whisper))$"
WEB_CHANNEL = r"^/webhooks/web/(turn|language|resume)$"
# What the web app serves that is not for the public.
NOT_PUBLIC = ("/metrics", "/ready", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json")
SOCKETS = ("/chat/ws", "/agent/ws")
RECEIPTS = "/chat/receipt"
# Mozilla's "intermediate" TLS configuration (TLS 1.2 ciphers; TLS 1.3 has its own).
CIPHERS = ":".join(
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
    )
)
JSON_LOG = (
    '\'{"time":"$time_iso8601","logger":"edge","method":"$request_method",'
    '"path":"$uri","status":$status,"bytes":$body_bytes_sent,"seconds":$request_time,'
    '"upstream":"$upstream_addr","upstream_seconds":"$upstream_response_time"}\''
)
TEXT_LOG = "'$time_iso8601 edge $request_method $uri $status $request_time $upstream_addr'"


@dataclass(frozen=True)
class EdgePlan:
    """What differs between topologies; `site()` turns it into nginx's configuration.

    The log names no client address and no query string (tokens, phone numbers)."""

    server_name: str
    https_listen: str
    http_listen: str
    https_port: int  # as the public sees it, for the redirect
    internal_listen: str
    rasa: tuple[str, ...]  # host:port of each Rasa instance
    web: str  # host:port of the web app
    tls_cert: str
    tls_key: str
    acme_root: str
    max_body_bytes: int
    receipt_max_bytes: int
    json_log: bool = True


def server_name(settings: Settings) -> str:
    """The public host name: EDGE_SERVER_NAME, else PUBLIC_BASE_URL's, else localhost."""
    public = urlsplit(settings.public_base_url).hostname if settings.public_base_url else None
    return settings.edge_server_name or public or "localhost"


def plan_for(settings: Settings) -> EdgePlan:
    """The edge the settings describe (every topology: run-prod, compose, systemd)."""
    tls_cert, tls_key = tls_files(settings)
    rasa, web = settings.edge_upstreams
    return EdgePlan(
        server_name=server_name(settings),
        https_listen=f"{settings.edge_bind_host}:{settings.edge_https_port}",
        http_listen=f"{settings.edge_bind_host}:{settings.edge_http_port}",
        https_port=settings.edge_https_port,
        internal_listen=f"{_listen_host(settings.bind_host)}:{settings.rasa_port}",
        rasa=tuple(rasa),
        web=web,
        tls_cert=str(tls_cert),
        tls_key=str(tls_key),
        acme_root=str(Path(settings.edge_dir) / "acme"),
        max_body_bytes=settings.edge_max_body_bytes,
        receipt_max_bytes=settings.receipt_max_bytes,
        json_log=settings.log_format == "json",
    )


def _listen_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


# --- the configuration ------------------------------------------------------------------


def _headers(public: bool, connection: str = '""') -> list[str]:
    """How a request is passed on: HTTP/1.1 (`connection` "": kept connections), who asked."""
    # Public: the peer is the client; anything the client wrote there is dropped.
    # Internal: the caller (the web app, this machine) is trusted to name its client.
    forwarded = "$remote_addr" if public else "$proxy_add_x_forwarded_for"
    return [
        "proxy_http_version 1.1;",
        f"proxy_set_header Connection {connection};",
        "proxy_set_header Host $http_host;",
        f"proxy_set_header X-Forwarded-For {forwarded};",
        "proxy_set_header X-Forwarded-Proto $scheme;",
        "proxy_set_header X-Forwarded-Host $http_host;",
        "proxy_set_header X-Real-IP $remote_addr;",
    ]


def _socket_headers() -> list[str]:
    """A WebSocket's: the upgrade passed on (a location's headers replace the server's)."""
    return [
        *_headers(public=True, connection="$connection_upgrade"),
        "proxy_set_header Upgrade $http_upgrade;",
        f"proxy_read_timeout {SOCKET_SECONDS}s;",
        f"proxy_send_timeout {SOCKET_SECONDS}s;",
    ]


def _block(head: str, body: list[str], indent: str = "    ") -> list[str]:
    lines = [f"{head} {{"]
    lines += [f"{indent}{line}" if line else "" for line in body]
    return [*lines, "}"]


def _location(match: str, body: list[str]) -> list[str]:
    return _block(f"location {match}", body)


def _to_rasa(methods: str = "POST") -> list[str]:
    return [f"limit_except {methods} {{ deny all; }}", "proxy_pass http://stadtwerk_rasa;"]


def _rasa_timeouts() -> list[str]:
    return [
        f"proxy_connect_timeout {CONNECT_SECONDS}s;",
        f"proxy_read_timeout {TURN_SECONDS}s;",
        f"proxy_send_timeout {TURN_SECONDS}s;",
        "# the next instance only for a request that could not be sent (no non_idempotent)",
        "proxy_next_upstream error timeout;",
    ]


def _public_server(plan: EdgePlan) -> list[str]:
    upload = plan.receipt_max_bytes + UPLOAD_OVERHEAD_BYTES
    web = "proxy_pass http://stadtwerk_web;"
    sockets = "|".join(path.removeprefix("/") for path in SOCKETS)
    hidden = "|".join(path.removeprefix("/").replace(".", r"\.") for path in NOT_PUBLIC)
    return _block(
        "server",
        [
            f"listen {plan.https_listen} ssl http2;",
            f"server_name {plan.server_name};",
            f"ssl_certificate {plan.tls_cert};",
            f"ssl_certificate_key {plan.tls_key};",
            "ssl_protocols TLSv1.2 TLSv1.3;",
            f"ssl_ciphers {CIPHERS};",
            "ssl_prefer_server_ciphers off;",
            "ssl_session_cache shared:stadtwerk_tls:10m;",
            "ssl_session_timeout 1d;",
            "ssl_session_tickets off;",
            'add_header Strict-Transport-Security "max-age=63072000" always;',
            f"client_max_body_size {plan.max_body_bytes};",
            *_headers(public=True),
            *_rasa_timeouts(),
            "",
            "# Rasa: the REST and phone webhooks only",
            *_location(f"~ {CHANNELS}", _to_rasa()),
            *_location("/webhooks/", ["return 404;"]),  # the regex above wins
            "",
            "# the web app: not its metrics, readiness details or API docs",
            *_location(f"~ ^/({hidden})$", ["return 404;"]),
            *_location(f"~ ^/({sockets})$", [*_socket_headers(), web]),
            *_location(f"= {RECEIPTS}", [f"client_max_body_size {upload};", web]),
            *_location("/", [web]),
        ],
    )


def _redirect_server(plan: EdgePlan) -> list[str]:
    port = "" if plan.https_port == 443 else f":{plan.https_port}"
    return _block(
        "server",
        [
            f"listen {plan.http_listen};",
            f"server_name {plan.server_name};",
            "# certificates: certbot certonly --webroot -w <this root>",
            *_location(
                "^~ /.well-known/acme-challenge/",
                [f"root {plan.acme_root};", "default_type text/plain;"],
            ),
            *_location("/", [f"return 308 https://$host{port}$request_uri;"]),
        ],
    )


def _internal_server(plan: EdgePlan) -> list[str]:
    return _block(
        "server",
        [
            f"listen {plan.internal_listen};",
            f"client_max_body_size {plan.max_body_bytes};",
            *_headers(public=False),
            *_rasa_timeouts(),
            *_location("= /_edge/health", ["access_log off;", 'return 200 "ok\\n";']),
            *_location("= /", _to_rasa(methods="GET")),
            *_location(f"~ {CHANNELS}", _to_rasa()),
            *_location(f"~ {WEB_CHANNEL}", _to_rasa()),
            *_location("/", ["return 404;"]),
        ],
    )


def site(plan: EdgePlan) -> str:
    """The http-level configuration: upstreams and the three servers."""
    rasa = [f"server {address} max_fails=1 fail_timeout={FAIL_SECONDS}s;" for address in plan.rasa]
    keepalive = [f"keepalive_timeout {UPSTREAM_KEEPALIVE_SECONDS}s;"]
    lines = [
        "server_tokens off;",
        f"log_format stadtwerk_edge escape=json {JSON_LOG if plan.json_log else TEXT_LOG};",
        "access_log /dev/stdout stadtwerk_edge;",
        *_block("map $http_upgrade $connection_upgrade", ["default upgrade;", '"" close;']),
        # the zone: every worker knows which instance failed, not only the one that saw it
        *_block(
            "upstream stadtwerk_rasa",
            ["zone stadtwerk_rasa 64k;", *rasa, "keepalive 32;", *keepalive],
        ),
        *_block("upstream stadtwerk_web", [f"server {plan.web};", "keepalive 16;", *keepalive]),
        "",
        *_public_server(plan),
        "",
        *_redirect_server(plan),
        "",
        "# internal: the web app and this machine reach Rasa's channels here",
        *_internal_server(plan),
    ]
    return "\n".join(lines) + "\n"


def main_config(plan: EdgePlan, runtime: Path) -> str:
    """A whole nginx.conf for an nginx of our own (the launcher's), files under `runtime`."""
    temp = [
        f"{kind}_temp_path {runtime / 'tmp' / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    ]
    body = [*temp, "default_type application/octet-stream;", *site(plan).splitlines()]
    lines = [
        "# Generated by `python -m bot.ops.edge run` (bot/ops/edge.py): change it there.",
        "worker_processes auto;",
        f"pid {runtime / 'nginx.pid'};",
        "error_log stderr warn;",
        *_block("events", ["worker_connections 1024;"]),
        *_block("http", body),
    ]
    return "\n".join(lines) + "\n"


# --- certificates -----------------------------------------------------------------------


def tls_files(settings: Settings) -> tuple[Path, Path]:
    """The certificate chain and key: the configured ones, or the development pair."""
    if settings.edge_tls_cert:
        return Path(settings.edge_tls_cert), Path(settings.edge_tls_key)
    folder = Path(settings.edge_dir) / "tls"
    return folder / "self-signed.crt", folder / "self-signed.key"


def make_self_signed(cert: Path, key: Path, name: str, days: int = 365) -> None:
    """A self-signed certificate for `name`, localhost and 127.0.0.1 (development only)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in dict.fromkeys((name, "localhost"))]
    names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(private, hashes.SHA256())
    )
    cert.parent.mkdir(parents=True, exist_ok=True)
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key.chmod(0o600)
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def client_tls(settings: Settings) -> ssl.SSLContext:
    """How this machine's clients (`make call`, tests) trust the edge: the system's
    authorities, and in development the self-signed certificate too."""
    context = ssl.create_default_context()
    cert, _ = tls_files(settings)
    if not settings.is_production and cert.exists():
        context.load_verify_locations(cert)
    return context


# --- running it -------------------------------------------------------------------------


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )
    if not found:
        raise SystemExit("nginx is not installed: run scripts/ensure_nginx.sh")
    return found


def prepare(settings: Settings) -> Path:
    """Write this machine's nginx.conf (and a development certificate if needed); its path."""
    runtime = Path(settings.edge_dir).resolve()
    for folder in ("tmp", "acme"):
        (runtime / folder).mkdir(parents=True, exist_ok=True)
    cert, key = tls_files(settings)
    if not settings.edge_tls_cert and not (cert.exists() and key.exists()):
        make_self_signed(cert, key, server_name(settings))
    config = runtime / "nginx.conf"
    config.write_text(main_config(plan_for(settings), runtime), encoding="utf-8")
    return config


# nginx -e (its error log before the configuration is read) came with 1.19.5;
# Ubuntu 22.04 has 1.18, whose package log the image links to stderr instead.
ERROR_LOG_FLAG_SINCE = (1, 19, 5)


@functools.cache
def nginx_version(binary: str) -> tuple[int, ...]:
    """The installed nginx's version, from `nginx -v` (which prints to stderr)."""
    said = subprocess.run([binary, "-v"], capture_output=True, text=True, timeout=30).stderr
    found = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", said)
    return tuple(int(part) for part in found.groups()) if found else (0, 0, 0)


def nginx_command(config: Path, *extra: str) -> list[str]:
    """nginx with `config`, its files beside it, and (where nginx can) errors on
    stderr from the start, not the package's /var/log/nginx, which a non-root
    user cannot open."""
    binary = nginx_binary()
    early = ["-e", "stderr"] if nginx_version(binary) >= ERROR_LOG_FLAG_SINCE else []
    return [binary, *early, "-p", str(config.parent), "-c", str(config), *extra]


def check(config: Path) -> subprocess.CompletedProcess[str]:
    """`nginx -t` on a configuration: its verdict and messages."""
    return subprocess.run(
        nginx_command(config, "-t", "-q"), capture_output=True, text=True, timeout=60
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.ops.edge", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="write the configuration and run nginx in the foreground")
    commands.add_parser("check", help="write the configuration and test it with nginx -t")
    args = parser.parse_args(argv)
    settings = get_settings()
    config = prepare(settings)
    if args.command == "check":
        verdict = check(config)
        sys.stderr.write(verdict.stderr)
        return verdict.returncode
    argv = nginx_command(config, "-g", "daemon off;")
    os.execv(argv[0], argv)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
