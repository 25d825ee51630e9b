"""No secret on a command line or in a log line (issue 12, finding 3).

Before: Rasa's API token was on its command line (`ps` shows it to every
user of the machine), and the web app sent it as `?token=` in URLs that
httpx logs. The stack runs with known secrets; this drives chat, web chat,
phone and console, then reads every process's command line and every log.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.infra.settings import DEV_TWILIO_TOKEN
from bot.ops.phone_sim import PhoneCall
from tests.harness.servers import PSEUDONYM_KEY, TOKEN, Servers
from tests.harness.web_clients import Console, Widget
from tests.security.conftest import Attacker

pytestmark = pytest.mark.asyncio


def command_line(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


async def test_no_secret_on_a_command_line_or_in_a_log(web: Servers) -> None:
    # Drive every way in: REST, web chat with a handoff, the console, a call.
    chat = Attacker(web)
    chat.say("Meine Rechnung bitte")
    chat.say("10000002 44137 12.03.1975")
    async with Widget(web.app_url) as widget:
        await widget.say("Ich möchte mit einem Mitarbeiter sprechen")
        chat_token = widget.token or ""
    console = Console(web.app_url)
    assert console.login("jonas", "demo-jonas-2026").status_code == 303
    agent_cookie = console.http.cookies.get("stadtwerk_agent") or ""
    console.get("/agent/api/cases")
    call = PhoneCall(web.settings.voice_base_url, DEV_TWILIO_TOKEN, caller="+4915100000042")
    call.start()
    call.press("1")
    call.say("Ich möchte mit einem Mitarbeiter sprechen")
    call.hang_up()

    secrets = {
        "Rasa API token": TOKEN,
        "pseudonym key": PSEUDONYM_KEY,
        "Twilio token": DEV_TWILIO_TOKEN,
        "agent session": agent_cookie,
        "chat token": chat_token,
    }
    assert all(len(value) >= 10 for value in secrets.values())
    for name, process in web.processes.items():
        line = command_line(process.pid)
        for what, value in secrets.items():
            assert value not in line, f"the {what} is on the command line of {name}"
    logs = {path.name: path.read_text(errors="replace") for path in web.log_dir.glob("*.log")}
    assert logs, "the servers write their logs to the log folder"
    for log, text in logs.items():
        for what, value in secrets.items():
            assert value not in text, f"the {what} is in {log}"
