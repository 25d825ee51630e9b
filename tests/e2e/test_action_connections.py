"""Rasa keeps its connections to the action server open between calls (bot.rasa_runtime.action_connections)."""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.e2e.conftest import Chat
from tests.harness.servers import Servers

pytestmark = pytest.mark.action_server
ESTABLISHED = "01"


def client_ports_to(port: int) -> set[int]:
    """Local ports of open TCP connections to 127.0.0.1:`port` (from /proc/net/tcp)."""
    ports = set()
    for line in Path("/proc/net/tcp").read_text(encoding="ascii").splitlines()[1:]:
        local, remote, state = line.split()[1:4]
        if state == ESTABLISHED and remote == f"0100007F:{port:04X}":
            ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports


def test_turns_reuse_one_connection_to_the_action_server(servers: Servers) -> None:
    chat = Chat(servers)
    action_port = servers.settings.action_port
    seen = []
    for text in ("Hallo", "Ich möchte meinen Abschlag ändern", "10000013", "44139"):
        assert chat.texts(text)
        seen.append(client_ports_to(action_port))
    # Each of these turns called the action server; one connection served them all.
    assert seen[0] and all(ports == seen[0] for ports in seen)


def test_idle_connections_are_closed_before_the_action_server_would(servers: Servers) -> None:
    chat = Chat(servers)
    assert chat.texts("Hallo")
    assert client_ports_to(servers.settings.action_port)
    deadline = time.monotonic() + 4.5  # Sanic closes idle connections after 5 s
    while client_ports_to(servers.settings.action_port) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not client_ports_to(servers.settings.action_port)


def test_a_stalled_action_server_still_answers_on_a_kept_connection(servers: Servers) -> None:
    """Longer than Sanic's default keep-alive (5 s): the kept connection must not be dropped."""
    chat = Chat(servers)
    assert "Kundennummer" in chat.texts("Ich habe eine Frage zu meiner Rechnung")
    assert client_ports_to(servers.settings.action_port)  # a connection is kept
    actions = servers.processes["actions"]
    with ThreadPoolExecutor(max_workers=1) as pool:
        actions.send_signal(signal.SIGSTOP)
        try:
            turn = pool.submit(chat.texts, "10000011")
            time.sleep(6.5)
        finally:
            actions.send_signal(signal.SIGCONT)
        answer = turn.result(timeout=60)
    assert "Postleitzahl" in answer and "technisches Problem" not in answer
