"""The edge proxy (real nginx, bot/ops/edge.py) in front of whatever a test names.

`local_plan` gives this machine's edge on free ports with a development
certificate in a folder of the test's own; `running_edge` runs nginx with it
until the block ends. `EchoServer` stands for an upstream and says what
reached it.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bot.ops.edge import EdgePlan, check, main_config, make_self_signed, nginx_command
from tests.harness.servers import free_port, readable_folder


def local_plan(folder: Path, rasa: tuple[str, ...], web: str, **changes: Any) -> EdgePlan:
    """An edge on free ports of this machine in front of `rasa` and `web` (host:port)."""
    cert, key = folder / "tls" / "edge.crt", folder / "tls" / "edge.key"
    if not cert.exists():
        make_self_signed(cert, key, "localhost")
    https, http, internal = free_port(), free_port(), free_port()
    plan = EdgePlan(
        server_name="localhost",
        https_listen=f"127.0.0.1:{https}",
        http_listen=f"127.0.0.1:{http}",
        https_port=https,
        internal_listen=f"127.0.0.1:{internal}",
        rasa=rasa,
        web=web,
        tls_cert=str(cert),
        tls_key=str(key),
        acme_root=_readable_folder(),
        max_body_bytes=65536,
        receipt_max_bytes=1_048_576,
        json_log=False,
    )
    return replace(plan, **changes)


def _readable_folder() -> str:
    """A folder nginx's workers can use (running as root, they run as `nobody`,
    and pytest's folders are private to root)."""
    return readable_folder("edge-")


def checked(plan: EdgePlan, folder: Path) -> tuple[int, str]:
    """nginx -t on the whole configuration of `plan`: exit code and messages."""
    (folder / "tmp").mkdir(parents=True, exist_ok=True)
    config = folder / "nginx.conf"
    config.write_text(main_config(plan, folder), encoding="utf-8")
    verdict = check(config)
    return verdict.returncode, verdict.stderr


def as_here(plan: EdgePlan, folder: Path) -> EdgePlan:
    """A deployment's edge with this machine's stand-ins for what `nginx -t` opens:
    its certificate files, the upstream hosts' names, the privileged ports."""
    local = local_plan(folder, ("127.0.0.1:1",), "127.0.0.1:2")
    here = re.compile(r"^[\w.-]+:")
    return replace(
        plan,
        rasa=tuple(here.sub("127.0.0.1:", address) for address in plan.rasa),
        web=here.sub("127.0.0.1:", plan.web),
        tls_cert=local.tls_cert,
        tls_key=local.tls_key,
        https_listen=local.https_listen,
        http_listen=local.http_listen,
        internal_listen=local.internal_listen,
        acme_root=local.acme_root,
    )


def port_of(listen: str) -> int:
    return int(listen.rsplit(":", 1)[1])


def trust(plan: EdgePlan) -> ssl.SSLContext:
    """A client context that trusts the plan's (self-signed) certificate."""
    return ssl.create_default_context(cafile=plan.tls_cert)


@contextlib.contextmanager
def running_edge(plan: EdgePlan, folder: Path) -> Iterator[Path]:
    """nginx with `plan` until the block ends; yields its log file (in `folder`)."""
    runtime = Path(_readable_folder())  # large bodies wait in its tmp/ for the workers
    (runtime / "tmp").mkdir()
    config = runtime / "nginx.conf"
    config.write_text(main_config(plan, runtime), encoding="utf-8")
    log_path = folder / "edge.log"
    # appending: nginx writes its access log through a descriptor of its own
    log = open(log_path, "a")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        nginx_command(config, "-g", "daemon off;"), stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 30
        port = port_of(plan.internal_listen)
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.1)
        yield log_path
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()
        shutil.rmtree(runtime, ignore_errors=True)


class EchoServer:
    """An upstream that answers every request with what reached it, as JSON."""

    def __init__(self, name: str) -> None:
        self.name = name
        echo = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.dumps(
                    {
                        "server": echo.name,
                        "method": self.command,
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body_bytes": len(self.rfile.read(length)) if length else 0,
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _answer  # noqa: N815

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
